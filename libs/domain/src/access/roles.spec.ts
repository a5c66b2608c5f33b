import { mayExercise, RIGHTS, rolesFromClaim } from './roles';

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

  it('the metrics role scrapes and nothing else', () => {
    const rights = Object.keys(RIGHTS) as (keyof typeof RIGHTS)[];
    expect(rights.filter((right) => mayExercise(['metrics'], right))).toEqual(['metrics:read']);
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
