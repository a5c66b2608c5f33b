import { presentedCredential } from './credential';

describe('presentedCredential', () => {
  it('reads an API key from a bearer or X-API-Key', () => {
    expect(presentedCredential({ authorization: 'Bearer fsk_abc' })).toEqual({ kind: 'api-key', value: 'fsk_abc' });
    expect(presentedCredential({ authorization: 'bearer fsk_abc' })).toEqual({ kind: 'api-key', value: 'fsk_abc' });
    expect(presentedCredential({ 'x-api-key': 'fsk_abc' })).toEqual({ kind: 'api-key', value: 'fsk_abc' });
  });

  it('tells a JWT bearer apart from an API key', () => {
    expect(presentedCredential({ authorization: 'Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln' }).kind).toBe('jwt');
  });

  it('refuses two credentials, a non-bearer scheme and an empty key', () => {
    expect(presentedCredential({ authorization: 'Bearer a', 'x-api-key': 'b' }).kind).toBe('malformed');
    expect(presentedCredential({ authorization: 'Basic dXNlcjpwYXNz' }).kind).toBe('malformed');
    expect(presentedCredential({ 'x-api-key': ' ' }).kind).toBe('malformed');
    expect(presentedCredential({}).kind).toBe('none');
  });
});
