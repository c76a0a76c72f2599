package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nemo-transcribe/nemo-transcribe/backend/config"
)

// The first-run step shows until settings are saved once; the UI
// language is kept with the rest and survives a restart.
func TestSettingsSavedAndTheUILanguage(t *testing.T) {
	path := filepath.Join(t.TempDir(), config.SettingsFileName)
	st, err := config.OpenSettings(path)
	if err != nil {
		t.Fatal(err)
	}
	a := NewApp(&fakeEngine{}, &fakeQueue{}, st, (&recorder{}).emit)
	if a.SettingsSaved() {
		t.Fatal("a fresh profile says settings were saved")
	}
	if got := a.GetSettings(); got.UILanguage != "" {
		t.Errorf("a first start's UI language is %q, want \"\" (the system's)", got.UILanguage)
	}
	s := a.GetSettings()
	s.UILanguage = "ja"
	saved, err := a.SaveSettings(s)
	if err != nil || saved.UILanguage != "ja" {
		t.Fatalf("SaveSettings: %+v, %v", saved, err)
	}
	if !a.SettingsSaved() {
		t.Error("after a save SettingsSaved is false")
	}
	if b, err := os.ReadFile(path); err != nil || !strings.Contains(string(b), `"uiLanguage": "ja"`) {
		t.Errorf("settings file: %s, %v", b, err)
	}
	again, err := config.OpenSettings(path)
	if err != nil {
		t.Fatal(err)
	}
	b := NewApp(&fakeEngine{}, &fakeQueue{}, again, (&recorder{}).emit)
	if !b.SettingsSaved() || b.GetSettings().UILanguage != "ja" {
		t.Errorf("after a restart: saved %v, UI language %q", b.SettingsSaved(), b.GetSettings().UILanguage)
	}
	s.UILanguage = "not a tag"
	if kept, err := a.SaveSettings(s); err == nil || kept.UILanguage != "ja" {
		t.Errorf("a bad tag: kept %q, %v; want ja and an error", kept.UILanguage, err)
	}
}
