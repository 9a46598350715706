# A link policy for wasmcloud-host, in Rego v1, served by OPA at /v1/data/wasmcloud.
#
# The host posts every policy question to that URL as {"input": request}; a put_link request carries the
# link at the top level of the input: actor_public_key, provider_id, provider_contract, link_name and
# link_values. The result is this package's document, {"allow": bool, "message": string}; a URL that
# names the rule, /v1/data/wasmcloud/allow, gives the bare boolean instead.
#
# data.link_policy (link_data.json) says which bucket prefix each actor's tenant owns, and which actors
# may link to each other contract.
package wasmcloud

default allow := false

# This policy rules on links only: starting actors and providers and invocations are allowed.
allow if input.action != "put_link"

# A key-value link is allowed when its bucket lies under the prefix of the actor's tenant.
allow if {
	input.provider_contract == "wasmcloud:keyvalue"
	prefix := data.link_policy.bucket_prefixes[input.actor_public_key]
	startswith(object.get(input.link_values, "bucket", ""), prefix)
}

# A link to any other contract is allowed for the actors listed for that contract.
allow if {
	input.provider_contract != "wasmcloud:keyvalue"
	input.actor_public_key in data.link_policy.linkers[input.provider_contract]
}

# Why not: undefined when allowed.
message := sprintf("actor %s belongs to no tenant and may not link to a key-value store", [input.actor_public_key]) if {
	not allow
	input.provider_contract == "wasmcloud:keyvalue"
	not data.link_policy.bucket_prefixes[input.actor_public_key]
} else := sprintf("bucket %q is outside %q, the tenant prefix of actor %s", [bucket, prefix, input.actor_public_key]) if {
	not allow
	input.provider_contract == "wasmcloud:keyvalue"
	prefix := data.link_policy.bucket_prefixes[input.actor_public_key]
	bucket := object.get(input.link_values, "bucket", "")
} else := sprintf("actor %s may not link to %s", [input.actor_public_key, input.provider_contract]) if {
	not allow
}
