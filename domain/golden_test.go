package domain_test

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custodian/custodian/domain"
)

var update = flag.Bool("update", false, "rewrite testdata/events/*.json from the samples")

// eventSamples holds one filled-in value of every event type. Its golden
// file, testdata/events/<Type>.json, fixes the stored name and the JSON
// shape: a change to either fails TestGoldenEvents (go test ./domain -update
// rewrites the files, for a deliberate new schema only).
func eventSamples() []domain.Event {
	carolP, groupP := domain.UserPrincipal(carol), domain.GroupPrincipal(detectives)
	return []domain.Event{
		orgCreated(),
		adminRoleCreated(),
		domain.RoleUpdated{RoleID: invRole, Name: "Detective", Permissions: investigator().Normalized()},
		domain.UserCreated{UserID: bob, OrgID: orgA, Name: "Bob Stone", Email: "bob@metro.example", BadgeID: "B-17",
			RoleID: invRole, Subject: "bob@idp.metro.example"},
		domain.UserRoleChanged{UserID: bob, RoleID: adminRole, PreviousRoleID: invRole},
		domain.UserDeactivated{UserID: bob},
		domain.UserReactivated{UserID: bob},
		domain.GroupCreated{GroupID: detectives, OrgID: orgA, Name: "Detectives"},
		domain.GroupMemberAdded{GroupID: detectives, UserID: bob},
		domain.GroupMemberRemoved{GroupID: detectives, UserID: bob},
		domain.CaseCreated{CaseID: case1, OrgID: orgA, Title: "Burglary at 12 Elm St", Description: "Rear window forced.",
			OwnerID: bob, AccessClass: domain.Unrestricted},
		domain.CaseTitleChanged{CaseID: case1, Title: "Burglary, 12 Elm St"},
		domain.CaseDescriptionChanged{CaseID: case1, Description: "Rear window forced; neighbour heard glass."},
		domain.CaseOwnerChanged{CaseID: case1, OwnerID: carol, PreviousOwnerID: bob},
		domain.FolderCreated{CaseID: case1, FolderID: folder, Name: "Video"},
		domain.EvidenceAdded{CaseID: case1, EvidenceID: ev1, Title: "Doorbell video", FolderID: folder,
			AccessClass: domain.Restricted, AddedBy: bob},
		domain.EvidenceRemoved{CaseID: case1, EvidenceID: ev1},
		domain.AccessClassApplied{CaseID: case1, AccessClass: domain.Restricted, PreviousClass: domain.Unrestricted,
			Reclassified: []domain.Reclassification{{EvidenceID: ev1, From: domain.Unrestricted, To: domain.Restricted}},
			Notify:       []domain.Principal{carolP, groupP}},
		domain.AccessClassRemoved{CaseID: case1, PreviousClass: domain.Confidential, Notify: []domain.Principal{carolP}},
		domain.InternalAccessGranted{CaseID: case1, Entries: []domain.AccessEntry{
			entry(carolP, domain.LevelView, hours(72)),
			entry(groupP, domain.LevelRole, time.Time{}),
		}},
		domain.InternalAccessModified{CaseID: case1, EvidenceID: ev1, Principal: carolP, Level: domain.LevelRole, ExpiresAt: hours(24)},
		domain.InternalAccessRemoved{CaseID: case1, Principal: groupP},
		domain.InternalAccessExpired{CaseID: case1, Principal: carolP, ExpiredAt: hours(72)},
		domain.EvidenceRegistered{EvidenceID: ev1, CaseID: case1, OrgID: orgA, MediaType: "video/mp4",
			SHA256: strings.Repeat("ab", 32), SizeBytes: 1048576},
		domain.EvidenceContentAttached{EvidenceID: ev1, SHA256: strings.Repeat("ab", 32), SizeBytes: 1048576, MediaType: "video/mp4"},
		domain.AccessDenied{OrgID: orgA, Method: "GET", Route: "/v1/cases/:id", TargetType: "case", TargetID: case1.String(),
			Status: 404, Reason: "not listable", Suppressed: 3},
		domain.RequestRecorded{KeyHash: strings.Repeat("cd", 32), BodyHash: strings.Repeat("ef", 32), Status: 201,
			Response: []byte(`{"id":"` + case1.String() + `"}`)},
	}
}

func TestGoldenEvents(t *testing.T) {
	dir := filepath.Join("testdata", "events")
	samples := eventSamples()
	var types []string
	for _, e := range samples {
		types = append(types, e.EventType())
	}
	slices.Sort(types)
	require.Equal(t, domain.EventTypes(), types, "one sample per type of the event table, and no other")

	if *update {
		require.NoError(t, os.MkdirAll(dir, 0o755))
	}
	for _, e := range samples {
		t.Run(e.EventType(), func(t *testing.T) {
			path := filepath.Join(dir, e.EventType()+".json")
			got, err := json.MarshalIndent(e, "", "  ")
			require.NoError(t, err)
			got = append(got, '\n')
			if *update {
				require.NoError(t, os.WriteFile(path, got, 0o644))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err, "run go test ./domain -update to create it")
			assert.Equal(t, string(want), string(got), "the stored JSON shape of %s changed", e.EventType())

			back, err := domain.DecodeEvent(e.EventType(), want)
			require.NoError(t, err)
			assert.Equal(t, e, back)
		})
	}

	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	require.NoError(t, err)
	var names []string
	for _, f := range files {
		names = append(names, strings.TrimSuffix(filepath.Base(f), ".json"))
	}
	assert.Equal(t, types, names, "a golden file without an event type")
}
