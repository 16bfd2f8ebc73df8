"""Bodies of the /group route group (protocol group/group.proto; sdkws GroupInfo, GroupMemberFullInfo,
GroupRequest): `read` holds the shared shapes and the read routes' bodies, `write` the write and admin routes'.
"""
