// Property tests explore new cases on every local run, but CI replays one fixed seed, so a red CI is
// always a change of ours and never the luck of the draw. FUZZ_SEED=N replays any run.
import fc from 'fast-check';

export const propertySeed: number =
  process.env.FUZZ_SEED !== undefined
    ? Number(process.env.FUZZ_SEED)
    : process.env.CI === 'true' || process.env.CI === '1'
      ? 20261205
      : Math.floor(Math.random() * 0x7fffffff);

fc.configureGlobal({ seed: propertySeed });
