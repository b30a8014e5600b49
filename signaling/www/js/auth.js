// Sign in and registration: errors shown by field, busy buttons.
import { api, store } from './session.js';
import { $, busy, tablist } from './util.js';

function clearErrors(form) {
  for (const p of form.querySelectorAll('.field-error, .error')) p.textContent = '';
  for (const i of form.querySelectorAll('[aria-invalid]')) i.removeAttribute('aria-invalid');
}

function fieldError(prefix, field, message) {
  const input = $(`${prefix}-${field}`);
  const out = $(`${prefix}-${field}-err`);
  if (!input || !out) return false;
  out.textContent = message;
  input.setAttribute('aria-invalid', 'true');
  input.focus();
  return true;
}

// Checks the browser can do before asking the node.
function localCheck(prefix, values) {
  if ('email' in values && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(values.email)) return ['email', 'Enter an email address like name@example.com'];
  if ('username' in values && !/^[A-Za-z0-9_]{3,50}$/.test(values.username)) return ['username', 'Use 3-50 letters, digits or _'];
  if ('password' in values && [...values.password].length < (prefix === 'reg' ? 8 : 1)) {
    return ['password', prefix === 'reg' ? 'Use at least 8 characters' : 'Enter your password'];
  }
  return null;
}

export function initAuth(onSignedIn) {
  tablist($('tab-login').parentElement);
  $('login-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const form = e.currentTarget;
    clearErrors(form);
    const values = { email: $('login-email').value.trim(), password: $('login-password').value };
    const bad = localCheck('login', values);
    if (bad) return void fieldError('login', ...bad);
    await busy($('login-submit'), 'Signing in…', async () => {
      try {
        store(await api('POST', '/api/auth/login', values));
        form.reset();
        onSignedIn();
      } catch (err) {
        $('login-error').textContent = err.code === 'invalid_credentials' ? 'Wrong email or password.' : err.message;
      }
    });
  });
  $('register-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const form = e.currentTarget;
    clearErrors(form);
    const values = { email: $('reg-email').value.trim(), username: $('reg-username').value.trim(), password: $('reg-password').value };
    const bad = localCheck('reg', values);
    if (bad) return void fieldError('reg', ...bad);
    await busy($('register-submit'), 'Creating account…', async () => {
      try {
        store(await api('POST', '/api/auth/register', values));
        form.reset();
        onSignedIn();
      } catch (err) {
        const msg = err.code === 'conflict' ? `This ${err.field} is already taken.` : err.message;
        if (!err.field || !fieldError('reg', err.field, msg)) $('register-error').textContent = msg;
      }
    });
  });
}
