package nkey

import "regexp"

// seedShape matches text shaped like an encoded seed in any letter case: 'S' and 57 base32 characters. The
// canonical spelling is upper case, but a seed typed or pasted in lower case is just as secret.
var seedShape = regexp.MustCompile(`(?i)s[a-z2-7]{57}`)

// SeedRedacted is what RedactSeeds puts in place of a seed.
const SeedRedacted = "S…(seed redacted)"

// LooksLikeSeed reports whether s holds anything shaped like an encoded seed, in any letter case. Code that
// is about to echo a value it could not parse (a key list, a host id) asks this first.
func LooksLikeSeed(s string) bool { return seedShape.MatchString(s) }

// RedactSeeds returns s with everything shaped like an encoded seed, in any letter case, replaced by
// SeedRedacted: the last line of defence before text reaches a log or a terminal.
func RedactSeeds(s string) string { return seedShape.ReplaceAllLiteralString(s, SeedRedacted) }
