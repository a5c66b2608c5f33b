import { mayExercise, RIGHTS, rightsOf, rolesFromClaim } from './roles';

describe('roles', () => {
  it('given the issue table, viewers read but never write', () => {
    expect(mayExercise(['viewer'], 'twins:read')).toBe(true);
    expect(mayExercise(['viewer'], 'commands:write')).toBe(false);
    expect(mayExercise(['viewer'], 'desired:write')).toBe(false);
    expect(mayExercise(['viewer'], 'metrics:read')).toBe(false);
    expect(mayExercise(['viewer'], 'alert-rules:read')).toBe(true);
    expect(mayExercise(['viewer'], 'alert-rules:write')).toBe(false);
  });

  it('operators send commands and patch desired state but do not delete devices', () => {
    expect(mayExercise(['operator'], 'commands:write')).toBe(true);
    expect(mayExercise(['operator'], 'desired:write')).toBe(true);
    expect(mayExercise(['operator'], 'devices:delete')).toBe(false);
    expect(mayExercise(['operator'], 'alert-rules:write')).toBe(true);
  });

  it('analysts read history only', () => {
    expect(mayExercise(['analyst'], 'history:read')).toBe(true);
    expect(mayExercise(['analyst'], 'sql:read')).toBe(true);
    expect(mayExercise(['analyst'], 'twins:read')).toBe(false);
    expect(mayExercise(['analyst'], 'commands:read')).toBe(false);
  });

  it('the metrics role scrapes and nothing else (but may ask who it is)', () => {
    expect(rightsOf(['metrics'])).toEqual(['metrics:read', 'identity:read']);
  });

  it('every role may read its own identity; no roles, no rights', () => {
    for (const role of ['viewer', 'operator', 'admin', 'analyst', 'metrics'] as const) expect(rightsOf([role])).toContain('identity:read');
    expect(rightsOf([])).toEqual([]);
  });

  it('the rights of several roles are the union, in the order of RIGHTS', () => {
    expect(rightsOf(['viewer', 'analyst'])).toEqual(['twins:read', 'history:read', 'commands:read', 'sql:read', 'alert-rules:read', 'alerts:read', 'identity:read']);
  });

  it('admins hold every right', () => {
    for (const right of Object.keys(RIGHTS) as (keyof typeof RIGHTS)[]) expect(mayExercise(['admin'], right)).toBe(true);
  });

  it('reads roles from an array or a space/comma separated claim, dropping unknown names', () => {
    expect(rolesFromClaim(['viewer', 'root', 'viewer'])).toEqual(['viewer']);
    expect(rolesFromClaim('operator analyst,metrics')).toEqual(['operator', 'analyst', 'metrics']);
    expect(rolesFromClaim(undefined)).toEqual([]);
    expect(rolesFromClaim({ admin: true })).toEqual([]);
  });
});
