package knowledge

import (
	"embed"
	"fmt"
)

// defaultKG is our own authored KG. Imported third-party sources are never
// embedded: they carry no licence to ship (see `fenzhen kg import`).
//
//go:embed kg
var defaultKG embed.FS

// LoadDefault loads and validates the embedded default KG. Like LoadFS it
// returns the KG alongside a *ValidationError.
func LoadDefault() (*KG, error) {
	g, err := LoadFS(defaultKG, "kg")
	if err != nil {
		return g, fmt.Errorf("default KG: %w", err)
	}
	return g, nil
}
