"""The safety layer: assess (risk), decide (policy, crisis protocol), check (output guards).

It imports nothing from cli, web or proxy; its data (lexicons, replies, crisis lines) lives in
`data/` as files a non-programmer can review.
"""
