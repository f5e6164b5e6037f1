import { describe, expect, it } from 'vitest';
import { explainDifferences } from '../../src/causes/match.js';
import { explainStepFields, instructionOf } from '../../src/compare/step-fields.js';
import type { Difference } from '../../src/diff/model.js';

function configField(path: string, a: unknown, b: unknown): Difference {
  return { kind: 'config-field', path, a, b, neutralized: false, cause: null };
}

/** What verify does: link the fields first, then the catalogue explains the rest. */
const explain = (differences: Difference[]) => explainDifferences(explainStepFields(differences.map((d) => ({ ...d }))));
const causes = (differences: Difference[]) => Object.fromEntries(explain(differences).map((d) => [d.path, d.cause?.id ?? null]));

describe('instructionOf', () => {
  it.each([
    ['/bin/sh -c #(nop) ENV a b', 'ENV'],
    ['/bin/sh -c #(nop)  LABEL stage=test', 'LABEL'],
    ['ENV a=b # buildkit', 'ENV'],
    ['RUN /bin/sh -c make # buildkit', 'RUN'],
    ['/bin/sh -c #(nop) WORKDIR /app', 'WORKDIR'],
    ['/bin/sh -c #(nop)  CMD ["/app"]', 'CMD'],
    ['/bin/sh -c make install', null],
    ['|1 VERSION=2 /bin/sh -c make', null],
    [null, null],
    [42, null],
  ])('%j is %j', (createdBy, instruction) => {
    expect(instructionOf(createdBy)).toBe(instruction);
  });
});

describe('explainStepFields', () => {
  const envStep = configField('/history/1/created_by', '/bin/sh -c #(nop) ENV a b', '/bin/sh -c #(nop) ENV a c');
  const env = configField('/config/Env/1', 'a=b', 'a=c');

  it('an ENV value differs: no known cause alone, the changed ENV step explains it', () => {
    expect(causes([env])).toEqual({ '/config/Env/1': null });
    expect(causes([env, envStep])).toEqual({ '/config/Env/1': 'dockerfile-changed', '/history/1/created_by': 'dockerfile-changed' });
    // The hint comes with it, and it stays remaining.
    expect(explain([env, envStep])[0]).toMatchObject({ neutralized: false, hint: expect.stringContaining('same Dockerfile and build args') });
  });

  it('links a field only to a step of its instruction', () => {
    const runStep = configField('/history/1/created_by', '/bin/sh -c make', '/bin/sh -c make all');
    expect(causes([env, runStep])['/config/Env/1']).toBeNull();
    const labelStep = configField('/history/2/created_by', '/bin/sh -c #(nop) LABEL a=b', '/bin/sh -c #(nop) LABEL a=c');
    expect(causes([env, labelStep])['/config/Env/1']).toBeNull();
    expect(causes([configField('/config/Labels/a', 'b', 'c'), labelStep])['/config/Labels/a']).toBe('dockerfile-changed');
    // Either side's instruction counts: a step that was ENV in A and LABEL in B.
    const swapped = configField('/history/2/created_by', '/bin/sh -c #(nop) ENV a b', '/bin/sh -c #(nop) LABEL a=b');
    expect(causes([env, configField('/config/Labels/a', null, 'b'), swapped])).toMatchObject({
      '/config/Env/1': 'dockerfile-changed',
      '/config/Labels/a': 'dockerfile-changed',
    });
  });

  it('a step only one build ran (a whole history entry) explains its field too', () => {
    const workdir = configField('/config/WorkingDir', '', '/app');
    const extra = configField('/history/3', null, { created: '2024-01-02T03:04:05Z', created_by: '/bin/sh -c #(nop) WORKDIR /app', empty_layer: true });
    expect(causes([workdir])['/config/WorkingDir']).toBeNull();
    expect(causes([workdir, extra])['/config/WorkingDir']).toBe('dockerfile-changed');
  });

  it('not when the step is copied content, and never over a catalogue cause', () => {
    const copied = configField('/history/1/created_by', 'COPY file:0a1b2c3d4e5f in /', 'COPY file:9a8b7c6d5e4f in /');
    expect(causes([env, copied])['/config/Env/1']).toBeNull();
    const labelStep = configField('/history/2/created_by', '/bin/sh -c #(nop) LABEL a=b', '/bin/sh -c #(nop) LABEL a=c');
    const created = configField('/config/Labels/org.opencontainers.image.created', '2024-05-01', '2024-05-02');
    expect(causes([created, labelStep])['/config/Labels/org.opencontainers.image.created']).toBe('created-label');
    // Fields the instruction does not set, and other places, are left alone.
    expect(causes([configField('/config/User', 'root', 'app'), envStep])['/config/User']).toBeNull();
    expect(causes([configField('/history/1/comment', 'x', 'y'), envStep])['/history/1/comment']).toBeNull();
  });
});
