// SPDX-License-Identifier: BSL-1.0
// The official Node SDK (npm smooch-core 8.11.4) against a running smooch-mock: every Conversation API operation
// with app, appUser and account scope. Prints one line per call and a summary; exits 1 if a call that the scope
// allows failed, or one it does not allow succeeded. Not part of CI (it needs the npm package): run.sh runs it.
//   SMOOCH_URL=https://127.0.0.1:PORT NODE_EXTRA_CA_CERTS=ca.pem node check.js
// The mock must have the keys run.sh gives it: app_key/app_secret bound to app_1, act_key/act_secret (account).
'use strict';
const Smooch = require('smooch-core');

const serviceUrl = process.env.SMOOCH_URL;
// Loopback only: the SDK's default service URL is the real API, and this script must never reach it.
if (!serviceUrl || !/^https?:\/\/(127\.[0-9.]+|localhost|\[::1\])(:[0-9]+)?$/.test(serviceUrl)) {
    console.error('SMOOCH_URL must be a loopback smooch-mock URL, e.g. https://127.0.0.1:PORT');
    process.exit(2);
}

const scopes = {
    app: {keyId: 'app_key', secret: 'app_secret', scope: 'app'},
    appUser: {keyId: 'app_key', secret: 'app_secret', scope: 'appUser', userId: 'alice'},
    account: {keyId: 'act_key', secret: 'act_secret', scope: 'account'},
};

// What each scope may do (docs/api-facts.md#authentication-and-scopes): appUser only its own conversation's
// get_messages, post_message (role appUser) and reset_unread_count.
const allowed = {
    app: () => true,
    account: () => true,
    appUser: (op) => ['post_message', 'get_messages', 'reset_unread_count'].includes(op),
};

let failures = 0, calls = 0;
async function call(scope, op, f) {
    ++calls;
    const expect = allowed[scope](op.split(' ')[0]);  // 'get_messages after' is a get_messages
    try {
        const r = await f();
        const ok = expect;
        if (!ok) ++failures;
        console.log(`${ok ? 'ok  ' : 'FAIL'} ${scope.padEnd(8)} ${op.padEnd(22)} succeeded${ok ? '' : ' (should be refused)'}`);
        return r;
    } catch (e) {
        const status = e.response ? e.response.status : 'no response';
        const ok = !expect && (status === 403);
        if (!ok) ++failures;
        console.log(`${ok ? 'ok  ' : 'FAIL'} ${scope.padEnd(8)} ${op.padEnd(22)} ${status} ${e.message}`);
        return undefined;
    }
}

async function run(scope) {
    const smooch = new Smooch({...scopes[scope], serviceUrl});  // one options object: auth and serviceUrl
    const user = scope === 'appUser' ? 'alice' : 'node-' + scope;
    // Account scope needs the app id first; app and appUser scope use the short path (/v1.1/appusers/...).
    const a = (...args) => (scope === 'account' ? ['app_1', ...args] : args);
    const role = scope === 'appUser' ? 'appUser' : 'appMaker';
    const sent = await call(scope, 'post_message', () =>
        smooch.appUsers.sendMessage(...a(user, {role, type: 'text', text: 'hello from ' + scope})));
    if (scope !== 'appUser') {
        const carousel = await call(scope, 'post_message carousel', () => smooch.appUsers.sendMessage(...a(user, {
            role, type: 'carousel',
            items: [{title: 'Tacos', actions: [{type: 'postback', text: 'Select', payload: 'TACOS'}]}]})));
        if (carousel) {
            const item = carousel.message.items[0];
            const ids = item && item._id && item.actions[0]._id;
            if (!ids) ++failures;
            console.log(`${ids ? 'ok  ' : 'FAIL'} ${scope.padEnd(8)} ${'items/actions _id'.padEnd(22)} ${ids ? 'present' : 'missing'}`);
        }
    }
    if (sent) {
        const src = sent.message.source && sent.message.source.type === 'api';
        if (!src) ++failures;
        console.log(`${src ? 'ok  ' : 'FAIL'} ${scope.padEnd(8)} ${'message.source'.padEnd(22)} ${JSON.stringify(sent.message.source)}`);
    }
    const page = await call(scope, 'get_messages', () => smooch.appUsers.getMessages(...a(user)));
    if (page && page.messages.length) {
        const ts = page.messages[0].received;
        await call(scope, 'get_messages after', () => smooch.appUsers.getMessages(...a(user, {after: String(ts)})));
    }
    await call(scope, 'conversation_activity', () =>
        smooch.appUsers.conversationActivity(...a(user, {role: 'appMaker', type: 'typing:start'})));
    await call(scope, 'reset_unread_count', () => smooch.conversations.resetUnreadCount(...a(user)));
    const id = sent ? sent.message._id : '0123456789abcdef01234567';
    await call(scope, 'delete_message', () => smooch.appUsers.deleteMessage(...a(user, id)));
    await call(scope, 'delete_messages', () => smooch.appUsers.deleteMessages(...a(user)));
}

(async () => {
    for (const scope of ['app', 'appUser', 'account']) await run(scope);
    console.log(`${calls - failures} passed, ${failures} failed`);
    process.exit(failures ? 1 : 0);
})();
