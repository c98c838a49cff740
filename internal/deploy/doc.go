// Package deploy holds no code: its tests check that the deploy files at the
// top of the repository (Procfile, app.json, the Slack app manifest and the
// README's settings table) name only commands and settings that exist.
package deploy
