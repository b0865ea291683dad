// Fenzhen console: one page over /v1/triage, /v1/record, /v1/imaging/chest
// and /v1/dermatology. Every piece of API text reaches the page through
// textContent (el() below); nothing is ever parsed as HTML.

const $ = (id) => document.getElementById(id);
const KEY_STORAGE = 'fenzhen.apiKey';

const URGENCY = {
  emergency: { cls: 'badge--emergency', label: '立即急诊或拨打120' },
  urgent: { cls: 'badge--urgent', label: '尽快就医（24小时内）' },
  routine: { cls: 'badge--routine', label: '门诊就诊' },
  self_care: { cls: 'badge--self-care', label: '居家观察' },
};
const ANSWER = { present: '有', absent: '没有', unknown: '不确定' };
const ERRORS = {
  invalid_argument: '输入有误，请检查后重试。',
  unauthenticated: '需要有效的 API 密钥，请在右上角“设置”中填写。',
  permission_denied: '该 API 密钥无权使用此功能。',
  not_found: '请求的功能在此服务器上不存在。',
  payload_too_large: '文件或内容过大，请换一个较小的文件。',
  unsupported_media_type: '不支持的文件格式，请上传 PNG、JPEG 或 DICOM 图像。',
  unprocessable: '无法读取该内容：文件可能已损坏或格式无法识别。',
  rate_limited: '请求过于频繁，请稍后再试。',
  unavailable: '服务暂时不可用，请稍后再试。',
  deadline_exceeded: '服务器处理超时，请稍后再试。',
  internal: '服务器出现内部错误，请稍后再试。',
};

const state = {
  evidence: [], // [{id, state, name}] answers to next_question, in order
  lastBody: null, // the /v1/triage body behind the results shown
  question: null,
  departments: null, // code -> name, from /v1/departments
  models: new Map(), // name -> version, everything seen so far
  previewURL: '',
  recordText: '',
};

// el builds an element; strings among children become text nodes.
function el(tag, props = {}, ...children) {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') n.className = v;
    else if (k === 'text') n.textContent = v;
    else n.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== undefined && c !== null && c !== '') n.append(c);
  return n;
}

const pct = (p) => (p > 0 && p < 0.01 ? '<1%' : `${Math.round(p * 100)}%`);

function bar(p, label) {
  return el('progress', { class: 'bar', max: 100, value: Math.round(p * 1000) / 10, 'aria-hidden': 'true', title: label });
}

// ---- API --------------------------------------------------------------

class ApiError extends Error {
  constructor(message, detail = '', code = '') {
    super(message);
    this.detail = detail;
    this.code = code;
  }
}

function authHeaders() {
  const key = sessionStorage.getItem(KEY_STORAGE);
  return key ? { Authorization: `Bearer ${key}` } : {};
}

async function api(path, { json, form, method = 'POST' } = {}) {
  const headers = { Accept: 'application/json', ...authHeaders() };
  let body;
  if (json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(json);
  } else if (form !== undefined) {
    body = form;
  }
  let res;
  try {
    res = await fetch(path, { method, headers, body, cache: 'no-store' });
  } catch {
    throw new ApiError('无法连接服务器，请确认服务正在运行、网络通畅。');
  }
  let data = null;
  try {
    data = await res.json();
  } catch {
    // not JSON: a proxy's error page, say; reported below without its text
  }
  if (!res.ok) {
    const e = data && typeof data.error === 'object' ? data.error : {};
    const detail = [];
    if (typeof e.message === 'string' && e.message) detail.push(`详情：${e.message.slice(0, 200)}`);
    const retry = res.headers.get('Retry-After');
    if (retry && /^\d+$/.test(retry)) detail.push(`约 ${retry} 秒后可重试`);
    if (typeof e.request_id === 'string' && e.request_id) detail.push(`请求编号 ${e.request_id}`);
    throw new ApiError(ERRORS[e.code] || `请求未成功（HTTP ${res.status}），请稍后再试。`, detail.join('；'), e.code || '');
  }
  if (!data || typeof data !== 'object') throw new ApiError('服务器返回了无法识别的内容，请稍后再试。');
  return data;
}

function showError(node, err) {
  node.replaceChildren();
  if (err instanceof ApiError) {
    node.append(el('span', { text: err.message }));
    if (err.detail) node.append(el('span', { class: 'error__detail', text: err.detail }));
    if (err.code === 'unauthenticated' || err.code === 'permission_denied') {
      $('settings').open = true;
    }
  } else {
    node.append(el('span', { text: '页面出现意外错误，请刷新后重试。' }));
    console.warn(err); // kept for developers; never shown raw to the user
  }
  node.hidden = false;
}

function hideError(node) {
  node.hidden = true;
  node.replaceChildren();
}

function noteModels(models) {
  if (!Array.isArray(models)) return;
  for (const m of models) state.models.set(m.name, m.version);
  const parts = [...state.models].map(([n, v]) => `${n} v${v}`);
  $('models').textContent = parts.length ? `模型版本：${parts.join(' · ')}` : '';
}

function modelsLine(models) {
  return Array.isArray(models) && models.length ? `模型：${models.map((m) => `${m.name} v${m.version}`).join('、')}` : '';
}

// Busy disables every control of a request while it is in flight.
function setBusy(region, busy, ...buttons) {
  region.setAttribute('aria-busy', String(busy));
  for (const b of buttons) b.disabled = busy;
}

// ---- Triage -----------------------------------------------------------

async function loadDepartments() {
  if (state.departments) return;
  try {
    const data = await api('/v1/departments', { method: 'GET' });
    state.departments = new Map((data.departments || []).map((d) => [d.code, d.name]));
  } catch {
    // names fall back to the sub-department alone; try again next time
  }
}

function deptName(d) {
  const parent = d.parent_code && state.departments ? state.departments.get(d.parent_code) : '';
  return parent && parent !== d.name ? `${parent} › ${d.name}` : d.name;
}

function readForm() {
  const text = $('symptoms').value.trim();
  if (!text) throw new ApiError('请先填写症状描述。');
  const body = { text, evidence: state.evidence.map(({ id, state: s }) => ({ id, state: s })) };
  const ageRaw = $('age').value.trim();
  if (ageRaw !== '' || $('age').validity.badInput) {
    const age = Number(ageRaw);
    if (ageRaw === '' || !Number.isFinite(age) || age < 0 || age > 120) throw new ApiError('年龄请填写 0 到 120 之间的数字（婴儿可填小数，如 0.5）。');
    body.age = age;
  }
  const sex = document.querySelector('input[name="sex"]:checked');
  if (sex && sex.value) body.sex = sex.value;
  return body;
}

function triageButtons() {
  return [$('triage-btn'), $('reset-btn'), $('record-btn'), ...document.querySelectorAll('.btn--answer, .chip__remove')];
}

async function runTriage() {
  const err = $('triage-error');
  let body;
  try {
    body = readForm();
  } catch (e) {
    showError(err, e);
    $('symptoms').focus();
    return;
  }
  hideError(err);
  const region = $('triage-results');
  const buttons = triageButtons();
  setBusy(region, true, ...buttons);
  $('triage-status').textContent = '正在分析…';
  try {
    const [data] = await Promise.all([api('/v1/triage', { json: body }), loadDepartments()]);
    state.lastBody = body;
    renderTriage(data);
  } catch (e) {
    $('triage-status').textContent = '';
    showError(err, e);
  } finally {
    setBusy(region, false, ...buttons);
  }
}

function renderTriage(r) {
  $('results-empty').hidden = true;
  $('results-body').hidden = false;

  const level = r.urgency && URGENCY[r.urgency.level] ? r.urgency.level : 'routine';
  const u = URGENCY[level];
  const badge = $('urgency-badge');
  badge.className = `badge ${u.cls}`;
  badge.dataset.level = level;
  badge.textContent = (r.urgency && r.urgency.label) || u.label;

  const top = (r.departments || [])[0];
  const dp = $('dept-primary');
  dp.replaceChildren();
  if (top) {
    dp.append(el('span', { class: 'dept__name', text: deptName(top) }), el('span', { class: 'dept__meta', text: `科目代码 ${top.code} · 概率 ${pct(top.probability)}` }));
  } else {
    dp.append(el('span', { class: 'dept__name', text: '暂无法判断' }), el('span', { class: 'dept__meta', text: '请补充更具体的症状' }));
  }

  const flags = (r.urgency && r.urgency.red_flags) || [];
  const reasons = (r.urgency && r.urgency.reasons) || [];
  $('red-flags').replaceChildren(...flags.map((f) => el('li', {}, el('strong', { text: f.name }), f.text ? `（“${f.text}”）` : '')));
  $('reasons').replaceChildren(...reasons.map((t) => el('li', { text: t })));
  $('red-flags-block').hidden = !flags.length;
  $('reasons-block').hidden = !reasons.length;
  $('urgency-detail').hidden = !flags.length && !reasons.length;
  $('urgency-detail').className = `urgency-detail urgency-detail--${level}`;

  renderQuestion(r.next_question);

  const seen = new Set();
  const symptoms = (r.symptoms || []).filter((s) => !seen.has(s.id + s.state) && seen.add(s.id + s.state));
  $('symptom-list').replaceChildren(
    ...(symptoms.length
      ? symptoms.map((s) => {
          const absent = s.state === 'absent';
          const extra = [s.text && s.text !== s.name ? `“${s.text}”` : '', duration(s.duration_days)].filter(Boolean).join('，');
          return el('li', { class: absent ? 'chip chip--absent' : 'chip' }, absent ? el('span', { class: 'chip__tag', text: '否认' }) : '', s.name, extra ? el('span', { class: 'chip__extra', text: extra }) : '');
        })
      : [el('li', { class: 'muted', text: '未识别到明确的症状，请换种说法描述。' })]),
  );

  $('dept-list').replaceChildren(
    ...(r.departments || []).map((d, i) =>
      el('li', { class: i === 0 ? 'bars__item bars__item--top' : 'bars__item' }, el('span', { class: 'bars__label' }, deptName(d), el('span', { class: 'code', text: d.code })), bar(d.probability, deptName(d)), el('span', { class: 'bars__value', text: pct(d.probability) })),
    ),
  );

  $('disease-list').replaceChildren(
    ...(r.diseases || []).map((d) =>
      el(
        'li',
        { class: 'disease' },
        el('div', { class: 'bars__item' }, el('span', { class: 'bars__label disease__name', text: d.name }), bar(d.probability, d.name), el('span', { class: 'bars__value', text: pct(d.probability) })),
        evidenceLine('支持', d.evidence_for, 'ev--for'),
        evidenceLine('不支持', d.evidence_against, 'ev--against'),
      ),
    ),
  );
  if (!(r.diseases || []).length) $('disease-list').append(el('li', { class: 'muted', text: '暂无候选疾病。' }));

  // A new triage makes an earlier record draft stale.
  $('record').hidden = true;
  hideError($('record-error'));
  $('copy-status').textContent = '';

  $('triage-models').textContent = [modelsLine(r.models), r.disclaimer].filter(Boolean).join(' · ');
  noteModels(r.models);
  renderAnswers();

  const where = top ? deptName(top) : '未能确定科室';
  $('triage-status').textContent = `分诊完成：${badge.textContent}；建议科室 ${where}${r.next_question ? '；有一个补充问题' : ''}。`;
}

// duration reads duration_days the way a patient says it: 2天, 5小时, 30分钟.
function duration(days) {
  if (!(days > 0)) return '';
  if (days >= 1) return `${Math.round(days * 10) / 10}天`;
  if (days * 24 >= 1) return `${Math.round(days * 24)}小时`;
  return `${Math.max(1, Math.round(days * 1440))}分钟`;
}

function evidenceLine(label, items, cls) {
  if (!items || !items.length) return '';
  return el('p', { class: `ev ${cls}` }, el('span', { class: 'ev__label', text: `${label}：` }), items.join('、'));
}

function renderQuestion(q) {
  state.question = q || null;
  $('question').hidden = !q;
  if (q) $('question-text').textContent = q.text || `是否有${q.name}？`;
}

function renderAnswers() {
  $('answers').replaceChildren(
    ...state.evidence.map((a, i) =>
      el(
        'li',
        { class: `chip chip--answer chip--${a.state}` },
        `${a.name}：${ANSWER[a.state]}`,
        el('button', { type: 'button', class: 'chip__remove', 'data-index': i, 'aria-label': `移除回答：${a.name} ${ANSWER[a.state]}`, text: '×' }),
      ),
    ),
  );
  $('answers-block').hidden = !state.evidence.length;
}

function answer(s) {
  const q = state.question;
  if (!q || !ANSWER[s]) return;
  state.evidence = state.evidence.filter((a) => a.id !== q.symptom_id);
  state.evidence.push({ id: q.symptom_id, state: s, name: q.name });
  renderAnswers();
  runTriage();
}

// ---- Record -----------------------------------------------------------

async function runRecord() {
  const err = $('record-error');
  if (!state.lastBody) return;
  hideError(err);
  const buttons = triageButtons();
  setBusy($('triage-results'), true, ...buttons);
  try {
    const r = await api('/v1/record', { json: state.lastBody });
    const rows = [['患者', recordLine(r.patient ? r.patient.text : '', r.patient ? r.patient.statements : [])]];
    for (const sec of r.sections || []) rows.push([sec.title, recordLine(sec.text, sec.statements)]);
    if (!r.sections) {
      // An older server: the first version's fields.
      rows.push(['主诉', recordLine(r.chief_complaint, [])], ['现病史', recordLine(r.present_illness, [])]);
    }
    $('record-fields').replaceChildren(...rows.flatMap(([k, v]) => [el('dt', { text: k }), v]));
    // 复制 copies the record in the usual plain-text layout.
    state.recordText = (r.text || rows.map(([k, v]) => `${k}：${v.textContent}`).join('\n') + '\n') + (r.disclaimer ? `（${r.disclaimer}）` : '');
    $('copy-status').textContent = '';
    $('record').hidden = false;
  } catch (e) {
    showError(err, e);
  } finally {
    setBusy($('triage-results'), false, ...buttons);
  }
}

// recordLine renders one section: its text, each statement marked so that
// hovering (or focusing) it shows the patient's words it rests on.
function recordLine(text, statements) {
  const dd = el('dd', { class: 'record__text' });
  if (!text) {
    dd.append(el('span', { class: 'record__none', text: '未述' }));
    return dd;
  }
  // Place each statement in the text (left to right, no overlaps).
  const marks = [];
  for (const st of statements || []) {
    if (!st.text) continue;
    let at = text.indexOf(st.text);
    while (at >= 0 && marks.some((m) => at < m.end && m.start < at + st.text.length)) at = text.indexOf(st.text, at + 1);
    if (at >= 0) marks.push({ start: at, end: at + st.text.length, st });
  }
  marks.sort((a, b) => a.start - b.start);
  let pos = 0;
  for (const m of marks) {
    if (m.start > pos) dd.append(text.slice(pos, m.start));
    dd.append(el('span', { class: `record__stmt record__stmt--${m.st.source}`, tabindex: 0, title: statementSource(m.st), text: text.slice(m.start, m.end) }));
    pos = m.end;
  }
  if (pos < text.length) dd.append(text.slice(pos));
  return dd;
}

function statementSource(st) {
  if (st.source === 'answer') return '依据：问诊回答';
  if (st.source === 'request') return '依据：请求中填写的信息';
  const words = (st.evidence || []).map((e) => `「${e.text}」`).join(' ');
  return words ? `原文：${words}` : '';
}

async function copyRecord() {
  const text = state.recordText || '';
  let ok = false;
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      ok = true;
    }
  } catch {
    // denied or unavailable: fall back below
  }
  if (!ok) {
    const ta = el('textarea', { class: 'offscreen', readonly: true, 'aria-hidden': 'true' });
    ta.value = text;
    document.body.append(ta);
    ta.select();
    try {
      ok = document.execCommand('copy');
    } catch {
      ok = false;
    }
    ta.remove();
  }
  $('copy-status').textContent = ok ? '已复制到剪贴板' : '无法自动复制，请手动选中文字复制';
}

// ---- Imaging ----------------------------------------------------------

async function runImaging(ev) {
  ev.preventDefault();
  const err = $('image-error');
  const file = $('image-file').files[0];
  if (!file) {
    showError(err, new ApiError('请先选择一个图像文件。'));
    $('image-file').focus();
    return;
  }
  hideError(err);
  const kind = document.querySelector('input[name="kind"]:checked').value;
  const path = kind === 'dermatology' ? '/v1/dermatology' : `/v1/imaging/chest?operating_point=${encodeURIComponent($('image-op').value)}`;
  const form = new FormData();
  form.append('image', file, file.name);
  const region = $('image-results');
  setBusy(region, true, $('image-btn'));
  $('image-status').textContent = '正在分析图像…';
  try {
    const r = await api(path, { form });
    renderImaging(r, file, kind);
  } catch (e) {
    // Results of an earlier file would read as this file's: take them away.
    $('image-status').textContent = '';
    $('image-body').hidden = true;
    $('image-empty').hidden = false;
    showError(err, e);
  } finally {
    setBusy(region, false, $('image-btn'));
  }
}

function renderImaging(r, file, kind) {
  $('image-empty').hidden = true;
  $('image-body').hidden = false;

  if (state.previewURL) URL.revokeObjectURL(state.previewURL);
  state.previewURL = '';
  const img = $('image-preview');
  if (/^image\/(png|jpeg)$/.test(file.type)) {
    state.previewURL = URL.createObjectURL(file);
    img.src = state.previewURL;
    img.hidden = false;
  } else {
    img.removeAttribute('src');
    img.hidden = true;
  }

  const findings = r.findings || [];
  $('findings').replaceChildren(
    ...findings.map((f, i) =>
      el('li', { class: i === 0 ? 'bars__item bars__item--top' : 'bars__item' }, el('span', { class: 'bars__label' }, f.name || f.label, f.name && f.label ? el('span', { class: 'code', text: f.label }) : ''), bar(f.probability, f.name || f.label), el('span', { class: 'bars__value', text: pct(f.probability) })),
    ),
  );

  const derm = kind === 'dermatology' && r.urgency;
  $('derm-block').hidden = !derm;
  if (derm) {
    const level = URGENCY[r.urgency.level] ? r.urgency.level : 'routine';
    const badge = $('derm-badge');
    badge.className = `badge ${URGENCY[level].cls}`;
    badge.dataset.level = level;
    badge.textContent = r.urgency.label || URGENCY[level].label;
    $('derm-dept').textContent = r.department ? `建议就诊：${r.department_name || '皮肤科'}（${r.department}）` : '';
    $('derm-reasons').replaceChildren(...(r.urgency.reasons || []).map((t) => el('li', { text: t })));
  }

  const inp = r.input || {};
  const fmt = { png: 'PNG', jpeg: 'JPEG', dicom: 'DICOM' }[inp.format] || inp.format || '';
  $('image-input').textContent = [`${kind === 'dermatology' ? '皮肤照片' : '胸片'}：${file.name}`, fmt && `${fmt} ${inp.width}×${inp.height}`, inp.modality && `模态 ${inp.modality}`, modelsLine(r.models)].filter(Boolean).join(' · ');
  $('image-disclaimer').textContent = r.disclaimer || '';
  noteModels(r.models);
  const q = r.quality || { ok: true };
  $('image-quality').hidden = q.ok;
  $('image-quality').textContent = q.ok ? '' : `注意：${q.reason || '图像与模型验证过的影像不同'}。`;
  const d = r.decision;
  const opNames = { balanced: '平衡工作点', screening: '筛查工作点' };
  $('image-decision').textContent = d ? `模型判断：${d.name || d.label}（${opNames[d.operating_point] || d.operating_point}${d.threshold != null ? `，阈值 ${pct(d.threshold)}` : ''}）` : '';
  const best = findings[0];
  const said = d ? `模型判断为${d.name || d.label}` : best ? `最可能为${best.name || best.label}（${pct(best.probability)}）` : '';
  $('image-status').textContent = (said ? `分析完成：${said}。` : '分析完成。') + (q.ok ? '' : '图像质量有保留，见下方提示。');
}

// ---- Wiring -----------------------------------------------------------

function reset() {
  $('triage-form').reset();
  state.evidence = [];
  state.lastBody = null;
  state.question = null;
  renderAnswers();
  hideError($('triage-error'));
  $('results-body').hidden = true;
  $('results-empty').hidden = false;
  $('triage-status').textContent = '';
  $('symptoms').focus();
}

function init() {
  const key = $('api-key');
  key.value = sessionStorage.getItem(KEY_STORAGE) || '';
  key.addEventListener('input', () => {
    const v = key.value.trim();
    if (v) sessionStorage.setItem(KEY_STORAGE, v);
    else sessionStorage.removeItem(KEY_STORAGE);
    state.departments = null;
  });

  $('triage-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    runTriage();
  });
  $('symptoms').addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) {
      ev.preventDefault();
      runTriage();
    }
  });
  $('reset-btn').addEventListener('click', reset);
  for (const b of document.querySelectorAll('.btn--answer')) b.addEventListener('click', () => answer(b.dataset.state));
  $('answers').addEventListener('click', (ev) => {
    const b = ev.target.closest('.chip__remove');
    if (!b || b.disabled) return;
    state.evidence.splice(Number(b.dataset.index), 1);
    renderAnswers();
    if ($('symptoms').value.trim()) runTriage();
  });
  $('record-btn').addEventListener('click', runRecord);
  $('copy-btn').addEventListener('click', copyRecord);
  $('image-form').addEventListener('submit', runImaging);
  for (const r of document.querySelectorAll('input[name="kind"]')) {
    r.addEventListener('change', () => { $('op-field').hidden = r.value === 'dermatology' && r.checked; });
  }
  $('image-file').addEventListener('change', () => hideError($('image-error')));
}

init();
