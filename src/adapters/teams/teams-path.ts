// Where the Bot Connector posts activities: a module of its own, so naming the route does not load botbuilder.
export const TEAMS_PATH = '/api/messages';
