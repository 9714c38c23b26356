import { checkNewPassword, PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from './password-policy';

const refusal = (password: string) => {
  try {
    checkNewPassword(password, 'password');
    return null;
  } catch (error) {
    return error as { code: string; details: { field: string } };
  }
};

describe('the password policy', () => {
  it('accepts a long, unusual password', () => {
    expect(refusal('violet staircase under the moon')).toBeNull();
  });

  it(`wants ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters, counting characters rather than bytes`, () => {
    expect(refusal('x'.repeat(PASSWORD_MIN_LENGTH - 1))).toMatchObject({
      code: 'BAD_USER_INPUT',
      details: { field: 'password' },
    });
    expect(refusal('🔑'.repeat(PASSWORD_MIN_LENGTH))).toBeNull();
    expect(refusal('y'.repeat(PASSWORD_MAX_LENGTH))).toBeNull();
    expect(refusal('y'.repeat(PASSWORD_MAX_LENGTH + 1))).toMatchObject({ code: 'BAD_USER_INPUT' });
  });

  it.each(['password123', 'qwertyuiop', '1234567890', 'Password1234', ' iloveyou123 ', 'QWERTY123456'])(
    'refuses the well-known password %p whatever its case or surrounding spaces',
    (password) => {
      expect(refusal(password)).toMatchObject({ code: 'BAD_USER_INPUT', details: { field: 'password' } });
    },
  );

  it('names the field it was given', () => {
    expect(() => checkNewPassword('short', 'newPassword')).toThrow(
      expect.objectContaining({ details: { field: 'newPassword' } }),
    );
  });
});
