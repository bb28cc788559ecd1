import { barePage } from '../layout.js';
import { html, type Html } from '../html.js';
import { en } from '../strings.js';

export function loginPage(message?: string): Html {
  return barePage(
    en.login.title,
    html`<p>${en.login.intro}</p>
${message ? html`<p class="error" role="alert">${message}</p>` : ''}
<form class="stack" method="post" action="/web/login">
<label>${en.login.token}<input type="password" name="token" required autocomplete="current-password" maxlength="512"></label>
<button type="submit">${en.login.submit}</button>
</form>`,
  );
}
