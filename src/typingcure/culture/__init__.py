"""Language handling and, later, culture packs: offered to the person, never inferred from a name or country."""
