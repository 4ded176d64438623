package projections

import (
	"strings"
	"testing"

	"github.com/google/uuid"
	"pgregory.net/rapid"

	"github.com/custodian/custodian/domain"
)

// TestCaseOfStream: caseOfStream takes exactly the names domain.CaseStream
// writes, as parsing the id and writing the name back does.
func TestCaseOfStream(t *testing.T) {
	reference := func(stream string) (uuid.UUID, bool) {
		rest, ok := strings.CutPrefix(stream, "case-")
		if !ok {
			return uuid.Nil, false
		}
		id, err := uuid.Parse(rest)
		if err != nil || domain.CaseStream(id) != stream {
			return uuid.Nil, false
		}
		return id, true
	}
	rapid.Check(t, func(t *rapid.T) {
		id := uuid.UUID(rapid.SliceOfN(rapid.Byte(), 16, 16).Draw(t, "id"))
		forms := []string{id.String(), strings.ToUpper(id.String()), "{" + id.String() + "}",
			"urn:uuid:" + id.String(), strings.ReplaceAll(id.String(), "-", "")}
		name := rapid.SampledFrom([]string{"case-", "evidence-", "Case-", ""}).Draw(t, "prefix") +
			rapid.SampledFrom(forms).Draw(t, "form")
		// Alter one character of it, or none.
		if at := rapid.IntRange(-1, len(name)-1).Draw(t, "at"); at >= 0 {
			name = name[:at] + rapid.SampledFrom([]string{"A", "a", "0", "-", "g", "G", ""}).Draw(t, "by") + name[at+1:]
		}
		wantID, wantOK := reference(name)
		gotID, gotOK := caseOfStream(name)
		if gotOK != wantOK || gotID != wantID {
			t.Fatalf("caseOfStream(%q) = %v, %v; want %v, %v", name, gotID, gotOK, wantID, wantOK)
		}
	})
}
