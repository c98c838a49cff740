package slackfake

import "fmt"

// DefaultChannels are the public channels of the seeded workspace: the
// recommended channels of the welcome message, and random.
var DefaultChannels = []string{"general", "newbies", "golang-jobs", "reviews", "gotimefm", "golang-cls", "random"}

// DefaultPeople are the members of the seeded workspace, by handle and real
// name.
var DefaultPeople = []struct{ Name, RealName string }{
	{"alice", "Alice Archer"},
	{"bob", "Bob Baker"},
	{"carol", "Carol Cooper"},
}

// Workspace names the IDs of what Seed created.
type Workspace struct {
	Channels map[string]string // name -> ID
	People   map[string]string // handle -> user ID
}

// Seed adds the default workspace: DefaultChannels and DefaultPeople, with
// everyone, the bot included, a member of every channel.
func (s *Server) Seed() (Workspace, error) {
	ws := Workspace{Channels: map[string]string{}, People: map[string]string{}}
	members := []string{s.bot.ID}
	for _, p := range DefaultPeople {
		u, err := s.AddUser(User{Name: p.Name, RealName: p.RealName})
		if err != nil {
			return Workspace{}, fmt.Errorf("slackfake: seed: %w", err)
		}
		ws.People[u.Name] = u.ID
		members = append(members, u.ID)
	}
	for _, name := range DefaultChannels {
		c, err := s.AddChannel(Channel{Name: name, Members: members})
		if err != nil {
			return Workspace{}, fmt.Errorf("slackfake: seed: %w", err)
		}
		ws.Channels[name] = c.ID
	}
	return ws, nil
}
