package contract

// Contract IDs of the capability interfaces whose payloads this package encodes. An actor names the
// contract as the namespace of a host call, and its claims must list it among their caps.
const (
	ContractHTTPServer = "wasmcloud:httpserver"
	ContractKeyValue   = "wasmcloud:keyvalue"
	ContractMessaging  = "wasmcloud:messaging"
	ContractHTTPClient = "wasmcloud:httpclient"
	ContractLogging    = "wasmcloud:builtin:logging"
	ContractNumberGen  = "wasmcloud:builtin:numbergen"
)

// Operation names, exactly as they appear in the operation of a guest or host call. The comment on
// each says what the payload and the reply are; "nothing" means an empty payload.
const (
	// OpHTTPServerHandleRequest is sent to an actor: HTTPRequest in, HTTPResponse back.
	OpHTTPServerHandleRequest = "HttpServer.HandleRequest"

	// OpHTTPClientRequest: HTTPClientRequest in, HTTPResponse back.
	OpHTTPClientRequest = "HttpClient.Request"

	// OpKeyValueGet: key (string) in, GetResponse back.
	OpKeyValueGet = "KeyValue.Get"
	// OpKeyValueSet: SetRequest in, nothing back.
	OpKeyValueSet = "KeyValue.Set"
	// OpKeyValueDel: key (string) in, bool back (whether the key existed).
	OpKeyValueDel = "KeyValue.Del"
	// OpKeyValueContains: key (string) in, bool back.
	OpKeyValueContains = "KeyValue.Contains"
	// OpKeyValueIncrement: IncrementRequest in, the new value (i32) back.
	OpKeyValueIncrement = "KeyValue.Increment"
	// OpKeyValueListAdd: ListAddRequest in, the new list length (u32) back.
	OpKeyValueListAdd = "KeyValue.ListAdd"
	// OpKeyValueListClear: list name (string) in, bool back (whether the list existed).
	OpKeyValueListClear = "KeyValue.ListClear"
	// OpKeyValueListDel: ListDelRequest in, bool back (whether the value was found).
	OpKeyValueListDel = "KeyValue.ListDel"
	// OpKeyValueListRange: ListRangeRequest in, StringList back.
	OpKeyValueListRange = "KeyValue.ListRange"
	// OpKeyValueSetAdd: SetAddRequest in, the number of values added (u32, 0 or 1) back.
	OpKeyValueSetAdd = "KeyValue.SetAdd"
	// OpKeyValueSetDel: SetDelRequest in, the number of values removed (u32, 0 or 1) back.
	OpKeyValueSetDel = "KeyValue.SetDel"
	// OpKeyValueSetIntersection: StringList of set names in, StringList of members back.
	OpKeyValueSetIntersection = "KeyValue.SetIntersection"
	// OpKeyValueSetQuery: set name (string) in, StringList of members back.
	OpKeyValueSetQuery = "KeyValue.SetQuery"
	// OpKeyValueSetUnion: StringList of set names in, StringList of members back.
	OpKeyValueSetUnion = "KeyValue.SetUnion"
	// OpKeyValueSetClear: set name (string) in, bool back (whether the set existed).
	OpKeyValueSetClear = "KeyValue.SetClear"

	// OpMessagingPublish: PubMessage in, nothing back.
	OpMessagingPublish = "Messaging.Publish"
	// OpMessagingRequest: RequestMessage in, ReplyMessage back.
	OpMessagingRequest = "Messaging.Request"
	// OpMessageSubscriberHandleMessage is sent to an actor: SubMessage in, nothing back.
	OpMessageSubscriberHandleMessage = "MessageSubscriber.HandleMessage"

	// OpLoggingWriteLog: LogEntry in, nothing back.
	OpLoggingWriteLog = "Logging.WriteLog"

	// OpNumberGenGenerateGuid: nothing in, a version 4 UUID (string) back.
	OpNumberGenGenerateGuid = "NumberGen.GenerateGuid"
	// OpNumberGenRandom32: nothing in, u32 back.
	OpNumberGenRandom32 = "NumberGen.Random32"
	// OpNumberGenRandomInRange: RangeLimit in, u32 back.
	OpNumberGenRandomInRange = "NumberGen.RandomInRange"
)
