export * from './ids.ts';
export * from './rooms.ts';
export * from './topics.ts';
export * from './messages.ts';
export * from './api.ts';
export * from './health.ts';
export * from './room-events.ts';
export * from './sensors.ts';
