"""Generated protobuf classes (`scripts/gen-proto` from `proto/openim/protocol/pb/*.proto`); never edited by hand.

Packages and field numbers are OpenIM's: `sdkws_pb2` (openim.sdkws: MsgData, pull/seq messages, tips, entities),
`msg_pb2` (openim.msg), `conversation_pb2` (openim.conversation), `jssdk_pb2` (openim.jssdk), `push_pb2`
(openim.push), `relation_pb2` (openim.relation, only FriendInfoOnly so far), `wrapperspb_pb2` (openim.protobuf).
"""
