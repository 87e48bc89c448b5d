// Package pki makes the certificates a webhook serves with when no
// certificate manager (cert-manager) provides them: a self-signed ECDSA
// P-256 certificate authority and leaf certificates it signs for the
// webhook's DNS names and IP addresses.
//
// The CA's certificate is what a ValidatingWebhookConfiguration's caBundle
// holds; the leaf and its key are what the server presents. Files are
// written PEM-encoded, keys as PKCS #8, each file atomically (a temporary
// file renamed into place) so a server reloading them never reads half a
// file. Nothing is cached.
package pki
