// Package html renders an audit as one self-contained HTML page: headline
// numbers, compliance by namespace, the age of the bases that run, the top
// bases, the trend of earlier audits, exceptions, and a sortable,
// filterable table of findings with the fix for each. CSS, scripts and
// charts (SVG drawn here) are inline: nothing is fetched when it is
// viewed. It is built with html/template, so every name, image and message
// is text, never markup.
package html
