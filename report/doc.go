// Package report writes policy results for people and programs: text
// grouped by resource, the JSON contract scripts depend on, and SARIF 2.1.0
// for code scanning. It does no I/O beyond the writer it is given.
package report
