//go:build goexperiment.jsonv2

package jsonl_test

import (
	jsonv2 "encoding/json/v2"
	"testing"
)

// BenchmarkParseEncodingJSONv2 is the second baseline: encoding/json/v2
// (GOEXPERIMENT=jsonv2 go test -bench ParseEncodingJSONv2 ./jsonl).
func BenchmarkParseEncodingJSONv2(b *testing.B) {
	lines := benchLines(b)
	type event struct {
		IP    string `json:"ip"`
		At    string `json:"at"`
		Event string `json:"event"`
		Port  int    `json:"port"`
		Proxy bool   `json:"proxy"`
	}
	type device struct {
		Type  string `json:"type"`
		Value string `json:"value"`
		At    string `json:"at"`
	}
	type report struct {
		ID       string   `json:"id"`
		Received string   `json:"received"`
		Incident string   `json:"incident"`
		IPs      []event  `json:"ips"`
		Devices  []device `json:"devices"`
	}
	var size int64
	for _, l := range lines {
		size += int64(len(l)) + 1
	}
	b.SetBytes(size / int64(len(lines)))
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		var r report
		jsonv2.Unmarshal(lines[i%len(lines)], &r)
	}
}
