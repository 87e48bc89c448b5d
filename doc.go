// Package baseguard is the root of the baseguard module. The command is in
// cmd/baseguard; the decision core in imageref, subject, lineage, policy and
// report; see README.md.
package baseguard
