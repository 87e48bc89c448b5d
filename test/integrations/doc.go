// Package integrations tests the files users adopt baseguard through, each
// run the way the tool it plugs into runs it: the GitHub Action's shell
// steps with inputs mapped as the runner maps them, the GitLab CI
// template's scripts with its variables, the pre-commit hook under the real
// pre-commit, and the release configuration under goreleaser.
package integrations
