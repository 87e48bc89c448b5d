package trust

import "time"

// Defaults. Each can be changed with an Option.
const (
	// DefaultFoundTTL is how long the signatures and attestations found
	// for an image are trusted to be all there are: new scans are attested
	// every day or so, and a few minutes saves requests for every pod.
	DefaultFoundTTL = 5 * time.Minute
	// DefaultMissingTTL is how long "no signature" or "no scan" is
	// remembered: a signature may be added minutes after a push, and a
	// denied deployment is retried soon.
	DefaultMissingTTL = 30 * time.Second
	// DefaultMaxEntries bounds the facts cache: one entry per image and
	// base looked at, each a few KiB (a scan's findings).
	DefaultMaxEntries = 4096
)

// Bounds on what is read for one image. Past them, what was not read is
// a problem of the image's facts, never a silent pass.
const (
	// maxSignatureLayers bounds the layers of one .sig or .att manifest:
	// each signing adds one, and real images carry a handful.
	maxSignatureLayers = 16
	// maxReferrers bounds the referrers looked at per digest: signatures,
	// attestations and SBOMs of one image, a few dozen at most.
	maxReferrers = 32
	// maxPayloadBytes bounds a simple-signing payload (a few hundred
	// bytes; annotations make it larger).
	maxPayloadBytes = 256 << 10
	// maxAttestationBytes bounds a DSSE envelope or a bundle: a scan of a
	// large image reports thousands of vulnerabilities in megabytes.
	maxAttestationBytes = 16 << 20
	// maxManifestBytes bounds a .sig, .att or referrer manifest.
	maxManifestBytes = 4 << 20
)
