export * from './ids.ts';
export * from './rooms.ts';
export * from './topics.ts';
export * from './gaps.ts';
export * from './alarms.ts';
export * from './manifest.ts';
export * from './messages.ts';
export * from './api.ts';
