// A broken copy of the shape of server/web/shared/i18n.js for the test
// web_i18n_detects_mismatch: each dictionary has a key the other lacks, one
// text is empty and one action has no English name.
const STRINGS = {
  zh: { login: '登录', only_zh: '只有中文' },
  en: { login: '', only_en: 'English only' },
};
const STATUS = { reported: ['已上报', 'Reported'] };
const ACTIONS = { accept: ['受理'] };
