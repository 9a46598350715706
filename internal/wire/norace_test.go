//go:build !race

package wire

// raceEnabled reports a -race build, in which sync.Pool drops items at random on purpose.
const raceEnabled = false
