"""Test identity providers (stub-idp-one, -two, -three) in one process, each with its own entity ID, keys and
users. Their test users, with full matching datasets and the matching outcome each should get against the
demo records (`matching_service/demo/records.csv`), are in `stub_idps/data/users.yaml`.
"""
