package infra_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
)

func lookPathNode() (string, error) { return exec.LookPath("node") }

// runViewerFunction evaluates CloudFront Function code in node with a viewer-request event
// shaped like CloudFront's, and returns the x-forwarded-host the function set.
func runViewerFunction(code, viewerHost string) (string, error) {
	if code == "" {
		return "", fmt.Errorf("no CloudFront function code in the template")
	}
	event := map[string]any{
		"version": "1.0",
		"context": map[string]any{
			"distributionDomainName": "d111111abcdef8.cloudfront.net",
			"distributionId":         "EDFDVBD6EXAMPLE",
			"eventType":              "viewer-request",
		},
		"viewer": map[string]any{"ip": "198.51.100.7"},
		"request": map[string]any{
			"method": "GET", "uri": "/c/abc", "querystring": map[string]any{},
			"headers": map[string]any{"host": map[string]any{"value": viewerHost}},
			"cookies": map[string]any{},
		},
	}
	ev, err := json.Marshal(event)
	if err != nil {
		return "", err
	}
	script := code + "\nvar out = handler(" + string(ev) + ");\n" +
		"process.stdout.write(JSON.stringify(out.headers['x-forwarded-host']));\n"
	f := filepath.Join(fixtureDir, "viewer-request.js")
	if err := os.WriteFile(f, []byte(script), 0o644); err != nil {
		return "", err
	}
	out, err := exec.Command("node", f).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("node: %v: %s", err, out)
	}
	var h struct{ Value string }
	if err := json.Unmarshal(out, &h); err != nil {
		return "", fmt.Errorf("function output %q: %w", out, err)
	}
	return h.Value, nil
}

var subRef = regexp.MustCompile(`\$\{([A-Za-z0-9]+)(\.[A-Za-z0-9.]+)?\}`)

// references collects the logical IDs v points at through Ref, Fn::GetAtt and Fn::Sub.
func references(v any, into map[string]bool) {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			switch k {
			case "Ref":
				if s, ok := val.(string); ok {
					into[s] = true
				}
			case "Fn::GetAtt":
				if l, ok := val.([]any); ok && len(l) > 0 {
					if s, ok := l[0].(string); ok {
						into[s] = true
					}
				}
			case "Fn::Sub":
				var tmpl any = val
				if l, ok := val.([]any); ok && len(l) > 0 {
					tmpl = l[0]
					if len(l) > 1 {
						references(l[1], into)
					}
				}
				if s, ok := tmpl.(string); ok {
					for _, m := range subRef.FindAllStringSubmatch(s, -1) {
						into[m[1]] = true
					}
				}
			}
			references(val, into)
		}
	case []any:
		for _, e := range x {
			references(e, into)
		}
	}
}

// findCycle returns one dependency cycle among the template's resources (first node repeated
// at the end), or nil.
func findCycle(tm template) []string {
	edges := map[string][]string{}
	for id, r := range tm.Resources {
		refs := map[string]bool{}
		references(r.Properties, refs)
		for _, d := range asList(r.DependsOn) {
			if s, ok := d.(string); ok {
				refs[s] = true
			}
		}
		for to := range refs {
			if _, ok := tm.Resources[to]; ok && to != id {
				edges[id] = append(edges[id], to)
			}
		}
		sort.Strings(edges[id])
	}
	ids := make([]string, 0, len(tm.Resources))
	for id := range tm.Resources {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	const (
		white = iota
		grey
		black
	)
	color := map[string]int{}
	var stack []string
	var visit func(string) []string
	visit = func(n string) []string {
		color[n] = grey
		stack = append(stack, n)
		for _, m := range edges[n] {
			switch color[m] {
			case grey:
				for i, s := range stack {
					if s == m {
						return append(append([]string(nil), stack[i:]...), m)
					}
				}
			case white:
				if c := visit(m); c != nil {
					return c
				}
			}
		}
		stack = stack[:len(stack)-1]
		color[n] = black
		return nil
	}
	for _, id := range ids {
		if color[id] == white {
			if c := visit(id); c != nil {
				return c
			}
		}
	}
	return nil
}
