// Package ui holds the dashboard's files (served by package server) and
// gives other packages its base map: region.json, Natural Earth's
// public-domain country outlines of mainland South-East Asia (see
// REGION.md), so that the brief draws the same map offline.
package ui

import _ "embed"

// Region is region.json: {"source", "bbox", "countries": [{"iso",
// "name", "rings": [[[lon, lat], ...], ...]}]}.
//
//go:embed region.json
var Region []byte

// RegionNotice is the source and licence of Region, for a document that
// draws it.
const RegionNotice = "Base map: Natural Earth 1:50m Admin 0 countries (public domain), via world-atlas 2.0.2, clipped and simplified; boundaries as Natural Earth draws them, which is a statement of no position on any disputed border."
