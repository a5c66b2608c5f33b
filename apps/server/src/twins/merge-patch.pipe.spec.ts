import { BadRequestException } from '@nestjs/common';
import { MergePatchPipe } from './merge-patch.pipe';

describe('MergePatchPipe', () => {
  const pipe = new MergePatchPipe();

  it.each([[{}], [{ mode: 'eco', nested: { a: null } }]])('passes the object %j', (body) => {
    expect(pipe.transform(body)).toBe(body);
  });

  it.each([[undefined], [null], [['eco']], ['eco'], [7], [true]])('refuses %j with 400 invalid-patch', (body) => {
    expect(() => pipe.transform(body)).toThrow(BadRequestException);
    try {
      pipe.transform(body);
    } catch (error) {
      expect((error as BadRequestException).getResponse()).toMatchObject({ reason: 'invalid-patch' });
    }
  });
});
