package main

import (
	"fmt"
	"strings"
	"time"
	"unicode"
)

// A subset of the filter language of Google APIs (AIP-160) and of Cloud
// Logging queries, as the fakes accept it: comparisons of a dotted field
// with a quoted string or bare word, joined by AND, OR and NOT with
// parentheses. As in both languages, OR binds tighter than AND. Fields the
// fake does not know are an error, as they are on the real services.

type filterExpr interface {
	eval(get fieldGetter) bool
}

// fieldGetter returns a field's value, and whether it is a timestamp.
type fieldGetter func(field string) (value string, isTime bool, ok bool)

type andExpr []filterExpr
type orExpr []filterExpr
type notExpr struct{ e filterExpr }
type cmpExpr struct{ field, op, value string }

func (a andExpr) eval(g fieldGetter) bool {
	for _, e := range a {
		if !e.eval(g) {
			return false
		}
	}
	return true
}

func (o orExpr) eval(g fieldGetter) bool {
	for _, e := range o {
		if e.eval(g) {
			return true
		}
	}
	return false
}

func (n notExpr) eval(g fieldGetter) bool { return !n.e.eval(g) }

func (c cmpExpr) eval(g fieldGetter) bool {
	v, isTime, ok := g(c.field)
	if c.op == ":" {
		return ok && (c.value == "*" || strings.Contains(v, c.value))
	}
	if !ok {
		return c.op == "!="
	}
	cmp := strings.Compare(v, c.value)
	if isTime {
		a, err1 := time.Parse(time.RFC3339Nano, v)
		b, err2 := time.Parse(time.RFC3339Nano, c.value)
		if err1 != nil || err2 != nil {
			return false
		}
		cmp = a.Compare(b)
	}
	switch c.op {
	case "=":
		return cmp == 0
	case "!=":
		return cmp != 0
	case "<":
		return cmp < 0
	case "<=":
		return cmp <= 0
	case ">":
		return cmp > 0
	case ">=":
		return cmp >= 0
	}
	return false
}

type filterParser struct {
	toks []string
	pos  int
	// known checks a field name and a value compared with it.
	known func(field, value string) error
}

// parseFilter parses text; an empty filter matches everything.
func parseFilter(text string, known func(field, value string) error) (filterExpr, error) {
	toks, err := tokenize(text)
	if err != nil {
		return nil, err
	}
	if len(toks) == 0 {
		return andExpr{}, nil
	}
	p := &filterParser{toks: toks, known: known}
	e, err := p.and()
	if err != nil {
		return nil, err
	}
	if p.pos != len(p.toks) {
		return nil, fmt.Errorf("unexpected %q at token %d", p.toks[p.pos], p.pos)
	}
	return e, nil
}

func tokenize(s string) ([]string, error) {
	var toks []string
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			i++
		case c == '(' || c == ')' || c == ':' || c == '=':
			toks = append(toks, string(c))
			i++
		case c == '!' || c == '<' || c == '>':
			if i+1 < len(s) && s[i+1] == '=' {
				toks = append(toks, s[i:i+2])
				i += 2
			} else if c == '!' {
				return nil, fmt.Errorf("unexpected '!' at %d", i)
			} else {
				toks = append(toks, string(c))
				i++
			}
		case c == '"':
			var b strings.Builder
			b.WriteByte('"')
			j := i + 1
			for ; j < len(s) && s[j] != '"'; j++ {
				if s[j] == '\\' && j+1 < len(s) {
					j++
				}
				b.WriteByte(s[j])
			}
			if j == len(s) {
				return nil, fmt.Errorf("unterminated string at %d", i)
			}
			toks = append(toks, b.String())
			i = j + 1
		default:
			j := i
			for j < len(s) && (unicode.IsLetter(rune(s[j])) || unicode.IsDigit(rune(s[j])) || strings.ContainsRune("._-*/", rune(s[j]))) {
				j++
			}
			if j == i {
				return nil, fmt.Errorf("unexpected %q at %d", c, i)
			}
			toks = append(toks, s[i:j])
			i = j
		}
	}
	return toks, nil
}

func (p *filterParser) peek() string {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return ""
}

func (p *filterParser) and() (filterExpr, error) {
	var out andExpr
	for {
		e, err := p.or()
		if err != nil {
			return nil, err
		}
		out = append(out, e)
		if p.peek() != "AND" {
			return out, nil
		}
		p.pos++
	}
}

func (p *filterParser) or() (filterExpr, error) {
	var out orExpr
	for {
		e, err := p.unary()
		if err != nil {
			return nil, err
		}
		out = append(out, e)
		if p.peek() != "OR" {
			return out, nil
		}
		p.pos++
	}
}

func (p *filterParser) unary() (filterExpr, error) {
	switch p.peek() {
	case "NOT":
		p.pos++
		e, err := p.unary()
		return notExpr{e}, err
	case "(":
		p.pos++
		e, err := p.and()
		if err != nil {
			return nil, err
		}
		if p.peek() != ")" {
			return nil, fmt.Errorf("missing ')'")
		}
		p.pos++
		return e, nil
	case "":
		return nil, fmt.Errorf("unexpected end of filter")
	}
	field := p.toks[p.pos]
	p.pos++
	op := p.peek()
	switch op {
	case "=", "!=", "<", "<=", ">", ">=", ":":
	default:
		return nil, fmt.Errorf("expected an operator after %q, got %q", field, op)
	}
	p.pos++
	v := p.peek()
	if v == "" || v == "(" || v == ")" {
		return nil, fmt.Errorf("expected a value after %s %s", field, op)
	}
	p.pos++
	v = strings.TrimPrefix(v, `"`)
	if err := p.known(field, v); err != nil {
		return nil, err
	}
	return cmpExpr{field: field, op: op, value: v}, nil
}
