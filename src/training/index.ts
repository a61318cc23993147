/** Training: feature encoding, built-in trainers and their resumable loop, the command trainer, metrics and the evaluation report. */
export * from './row-matrix-adapter';
export * from './metrics';
export * from './trainer-contract';
export * from './trainers';
export * from './labeled-data';
export * from './training-loop';
export * from './class-weights';
export * from './model-artifact';
export * from './command-trainer';
export * from './evaluation-report';
