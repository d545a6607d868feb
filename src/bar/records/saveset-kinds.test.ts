import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SaveSetKind } from './saveset-kinds.js';

describe('save-set kinds', () => {
  it('keeps the names stored in every existing home (a renamed kind hides its save sets)', () => {
    assert.deepEqual(
      { ...SaveSetKind },
      {
        label: 'label',
        space: 'space',
        wal: 'wal',
        walSummary: 'walsum',
        config: 'config',
        bootstrap: 'bootstrap',
        file: 'file',
      },
    );
    assert.ok(Object.isFrozen(SaveSetKind));
  });
});
