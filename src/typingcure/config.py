"""Settings and the user directory.

Precedence, highest first: a command-line flag > an environment variable `TYPINGCURE_<NAME>` >
the config file `<user_dir>/config.toml` > the default here. `user_dir()` is `TYPINGCURE_HOME`
when set, else the platform's data directory for "typingcure".

    >>> settings = load_settings({"backend": "scripted:replies.json"})
    >>> settings.backend
    'scripted:replies.json'

Every value is checked when it is loaded, and a bad one is a `ConfigError` naming the setting,
the value and where it came from (a flag, a variable or the file). Country codes are ISO 3166-1
alpha-2 (`COUNTRIES`; `typingcure countries` lists them).
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import ConfigError, InputError
from .types import Profile

ENV_PREFIX = "TYPINGCURE_"

# ISO 3166-1 alpha-2, with the short names of the tz database's iso3166.tab (public domain).
COUNTRIES: dict[str, str] = dict(entry.split(" ", 1) for entry in (
    "AD Andorra|AE United Arab Emirates|AF Afghanistan|AG Antigua & Barbuda|AI Anguilla|AL Albania|"
    "AM Armenia|AO Angola|AQ Antarctica|AR Argentina|AS Samoa (American)|AT Austria|AU Australia|"
    "AW Aruba|AX Åland Islands|AZ Azerbaijan|BA Bosnia & Herzegovina|BB Barbados|BD Bangladesh|"
    "BE Belgium|BF Burkina Faso|BG Bulgaria|BH Bahrain|BI Burundi|BJ Benin|BL St Barthelemy|BM Bermuda|"
    "BN Brunei|BO Bolivia|BQ Caribbean NL|BR Brazil|BS Bahamas|BT Bhutan|BV Bouvet Island|BW Botswana|"
    "BY Belarus|BZ Belize|CA Canada|CC Cocos (Keeling) Islands|CD Congo (Dem. Rep.)|"
    "CF Central African Rep.|CG Congo (Rep.)|CH Switzerland|CI Côte d'Ivoire|CK Cook Islands|CL Chile|"
    "CM Cameroon|CN China|CO Colombia|CR Costa Rica|CU Cuba|CV Cape Verde|CW Curaçao|CX Christmas Island|"
    "CY Cyprus|CZ Czech Republic|DE Germany|DJ Djibouti|DK Denmark|DM Dominica|DO Dominican Republic|"
    "DZ Algeria|EC Ecuador|EE Estonia|EG Egypt|EH Western Sahara|ER Eritrea|ES Spain|ET Ethiopia|"
    "FI Finland|FJ Fiji|FK Falkland Islands|FM Micronesia|FO Faroe Islands|FR France|GA Gabon|"
    "GB Britain (UK)|GD Grenada|GE Georgia|GF French Guiana|GG Guernsey|GH Ghana|GI Gibraltar|"
    "GL Greenland|GM Gambia|GN Guinea|GP Guadeloupe|GQ Equatorial Guinea|GR Greece|"
    "GS South Georgia & the South Sandwich Islands|GT Guatemala|GU Guam|GW Guinea-Bissau|GY Guyana|"
    "HK Hong Kong|HM Heard Island & McDonald Islands|HN Honduras|HR Croatia|HT Haiti|HU Hungary|"
    "ID Indonesia|IE Ireland|IL Israel|IM Isle of Man|IN India|IO British Indian Ocean Territory|IQ Iraq|"
    "IR Iran|IS Iceland|IT Italy|JE Jersey|JM Jamaica|JO Jordan|JP Japan|KE Kenya|KG Kyrgyzstan|"
    "KH Cambodia|KI Kiribati|KM Comoros|KN St Kitts & Nevis|KP Korea (North)|KR Korea (South)|KW Kuwait|"
    "KY Cayman Islands|KZ Kazakhstan|LA Laos|LB Lebanon|LC St Lucia|LI Liechtenstein|LK Sri Lanka|"
    "LR Liberia|LS Lesotho|LT Lithuania|LU Luxembourg|LV Latvia|LY Libya|MA Morocco|MC Monaco|MD Moldova|"
    "ME Montenegro|MF St Martin (French)|MG Madagascar|MH Marshall Islands|MK North Macedonia|ML Mali|"
    "MM Myanmar (Burma)|MN Mongolia|MO Macau|MP Northern Mariana Islands|MQ Martinique|MR Mauritania|"
    "MS Montserrat|MT Malta|MU Mauritius|MV Maldives|MW Malawi|MX Mexico|MY Malaysia|MZ Mozambique|"
    "NA Namibia|NC New Caledonia|NE Niger|NF Norfolk Island|NG Nigeria|NI Nicaragua|NL Netherlands|"
    "NO Norway|NP Nepal|NR Nauru|NU Niue|NZ New Zealand|OM Oman|PA Panama|PE Peru|PF French Polynesia|"
    "PG Papua New Guinea|PH Philippines|PK Pakistan|PL Poland|PM St Pierre & Miquelon|PN Pitcairn|"
    "PR Puerto Rico|PS Palestine|PT Portugal|PW Palau|PY Paraguay|QA Qatar|RE Réunion|RO Romania|"
    "RS Serbia|RU Russia|RW Rwanda|SA Saudi Arabia|SB Solomon Islands|SC Seychelles|SD Sudan|SE Sweden|"
    "SG Singapore|SH St Helena|SI Slovenia|SJ Svalbard & Jan Mayen|SK Slovakia|SL Sierra Leone|"
    "SM San Marino|SN Senegal|SO Somalia|SR Suriname|SS South Sudan|ST Sao Tome & Principe|"
    "SV El Salvador|SX St Maarten (Dutch)|SY Syria|SZ Eswatini (Swaziland)|TC Turks & Caicos Is|TD Chad|"
    "TF French S. Terr.|TG Togo|TH Thailand|TJ Tajikistan|TK Tokelau|TL East Timor|TM Turkmenistan|"
    "TN Tunisia|TO Tonga|TR Turkey|TT Trinidad & Tobago|TV Tuvalu|TW Taiwan|TZ Tanzania|UA Ukraine|"
    "UG Uganda|UM US minor outlying islands|US United States|UY Uruguay|UZ Uzbekistan|VA Vatican City|"
    "VC St Vincent|VE Venezuela|VG Virgin Islands (UK)|VI Virgin Islands (US)|VN Vietnam|VU Vanuatu|"
    "WF Wallis & Futuna|WS Samoa (western)|YE Yemen|YT Mayotte|ZA South Africa|ZM Zambia|ZW Zimbabwe"
).split("|"))


def country_code(value: str | None) -> str | None:
    """`"ke"` -> `"KE"`; None or "" -> None; anything else that is not an ISO 3166 code raises InputError."""
    if value is None or not value.strip():
        return None
    code = value.strip().upper()
    if code not in COUNTRIES:
        hint = " (the United Kingdom is GB)" if code == "UK" else ""
        raise InputError(f"unknown country code {value!r}{hint}: use two letters such as KE or BR; "
                         "`typingcure countries` lists them all")
    return code


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    backend: str = "local"
    role: str = "listener"
    country: str | None = None
    language: str | None = None
    max_tokens: int = Field(default=120, ge=1, le=4096)
    temperature: float = Field(default=0.3, ge=0.0, le=2.0, allow_inf_nan=False)
    timeout: float = Field(default=60.0, gt=0.0, le=3600.0, allow_inf_nan=False, description="seconds a backend may take to answer")
    reply_seconds: float = Field(
        default=20.0, gt=0.0, le=600.0, allow_inf_nan=False,
        description="after this many seconds the reply ends at the last whole sentence",
    )
    max_message_chars: int = Field(default=16_000, ge=100)
    history: Literal["on", "off"] = Field(default="on", description="keep conversations, encrypted; off keeps nothing")
    capable: bool | None = Field(
        default=None, description="trust the model's own words at moderate risk (default: as the models catalogue says)"
    )
    assessor_model: str | None = Field(
        default=None, description="a backend spec for the optional model-based risk layer (a capable model only)"
    )
    turn: dict[str, Any] | None = Field(
        default=None, description="changes to the turn's composition (config file [turn] table; typingcure.composition)"
    )

    @field_validator("country")
    @classmethod
    def _country(cls, value: str | None) -> str | None:
        try:
            return country_code(value)
        except InputError as exc:
            raise ValueError(exc.message) from None

    @field_validator("turn")
    @classmethod
    def _turn(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value:
            from .composition import turn_spec

            try:
                turn_spec(value)
            except ConfigError as exc:
                raise ValueError(exc.message) from None
        return value

    @field_validator("language")
    @classmethod
    def _language(cls, value: str | None) -> str | None:
        try:
            return Profile(language=value).language  # the same rule as a profile's
        except ValidationError as exc:
            raise ValueError(exc.errors()[0]["msg"].removeprefix("Value error, ")) from None


def user_dir() -> Path:
    """The one folder typingcure keeps things in (models, config, later the encrypted store)."""
    home = os.environ.get("TYPINGCURE_HOME")
    if home:
        return Path(home).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("typingcure", appauthor=False))


def config_path() -> Path:
    return user_dir() / "config.toml"


def _from_file(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"the config file {path} is not valid TOML ({exc}); fix or delete it") from exc
    except OSError as exc:
        raise ConfigError(f"cannot read the config file {path} ({exc.strerror or exc}); fix or delete it") from exc


def _from_env(environ: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in Settings.model_fields:
        if name == "turn":  # a table: config.toml or the Python API only
            continue
        raw = environ.get(ENV_PREFIX + name.upper())
        if raw is not None and raw != "":
            values[name] = raw
    return values


def load_settings(flags: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Merge the four sources; a flag given as None means "not given"."""
    merged: dict[str, Any] = {}
    source: dict[str, str] = {}
    file, env = _from_file(config_path()), _from_env(os.environ if environ is None else environ)
    given = {k: v for k, v in (flags or {}).items() if v is not None}
    for values, where in ((file, lambda _: str(config_path())), (env, lambda name: ENV_PREFIX + name.upper()),
                          (given, lambda name: "--" + name.replace("_", "-"))):
        merged.update(values)
        source.update({name: where(name) for name in values})
    try:
        return Settings(**merged)
    except ValidationError as exc:
        problems = "; ".join(_problem(e, merged, source) for e in exc.errors())
        raise ConfigError(f"invalid setting: {problems}") from exc


def _problem(error: Any, merged: Mapping[str, Any], source: Mapping[str, str]) -> str:
    """One readable clause: the setting, its value, where it came from, what is wrong."""
    name = str(error["loc"][0]) if error["loc"] else "?"
    message = " ".join(str(error["msg"]).removeprefix("Value error, ").split())
    if error["type"] == "extra_forbidden":
        return f"unknown setting {name!r} in {source.get(name, 'the settings')} (known: {', '.join(Settings.model_fields)})"
    shown = repr(merged.get(name))
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    return f"{name} = {shown} (from {source.get(name, 'the defaults')}): {message}"
