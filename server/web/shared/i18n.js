// Chinese by default, English on request; the choice is kept in
// localStorage. Elements carry data-i18n="key" (textContent),
// data-i18n-placeholder, data-i18n-title or data-i18n-label (aria-label).

const STRINGS = {
  zh: {
    app_m: '网格上报', app_console: '综治中心工作台', lang_switch: 'English',
    username: '用户名', password: '密码', login: '登录', logout: '退出',
    login_failed: '登录失败', loading: '加载中…', unavailable: '暂不可用',
    new_report: '上报', my_reports: '我的上报', category: '事件类别',
    search_category: '搜索类别…', description: '情况描述', photos: '照片',
    add_photo: '拍照 / 选照片', location: '位置', locate_me: '重新定位',
    accuracy: '精度', meters: '米', drag_pin: '可拖动图钉修正位置',
    no_location: '尚未定位：请允许定位，或在地图上点选位置',
    goes_to: '将送达', cell: '网格', village: '村/社区', branch: '党支部',
    zones: '示范区', outside: '不在任何网格内，将由综治中心分拣',
    submit: '提交上报', sending: '正在提交…', sent: '已提交，案件编号',
    queued: '无网络，已保存，恢复联网后自动发送', queue: '待发送',
    send_now: '立即发送', offline: '离线', online: '在线',
    choose_category: '请选择事件类别', need_description: '请填写情况描述',
    need_location: '请先定位或在地图上点选位置', photo_needed: '此类别需要照片',
    photo_failed: '照片上传失败', status: '状态', deadline: '办结时限',
    accept_by: '受理时限', timeline: '处理经过', confirm_title: '评价处理结果',
    satisfied: '满意', dispute: '不满意，重新办理', note: '备注', refresh: '刷新',
    no_reports: '暂无上报', case_no: '编号', received: '接收时间',
    queue_title: '案件队列', map: '地图', cases: '案件', stats: '统计',
    filter: '筛选', all: '全部', overdue: '超期', text: '关键词', from: '从',
    to: '至', apply: '查询', export: '导出', export_xlsx: '台账 XLSX',
    export_csv: 'CSV', export_geojson: 'GeoJSON', detail: '案件详情',
    placement: '位置归属', reasons: '派单依据', actions: '可办操作',
    no_actions: '当前无可办操作', possible_duplicates: '可能重复',
    assignee: '承办人', reason: '理由', duplicate_of: '重复的案件 ID',
    referral: '转交说明', offices: '协办部门', hours: '延期小时数',
    passed: '核查通过', do_action: '确定', cancel: '取消', period: '统计周期',
    group_by: '分组', office: '部门', by_branch: '按党支部',
    by_office: '按部门', by_village: '按村/社区', by_category: '按类别',
    received_n: '受理', closed_n: '办结', on_time: '按期', overdue_n: '超期',
    reworked: '返工', mean_hours: '平均处置小时', tile_url: '底图地址',
    layers: '图层', villages: '村界', cells: '网格', zones_layer: '示范区',
    case_markers: '案件', sort_by: '排序', open_n: '在办', none: '无',
    version_conflict: '案件已被他人更新，已刷新，请重试',
    inside_yes: '在网格内', level: '层级', rework_count: '返工次数',
    reject_invalid: '无效', reject_duplicate: '重复', reject_not_ours: '非本级事项',
    page_prev: '上一页', page_next: '下一页', close: '关闭',
    select_case: '在队列或地图上选择一个案件', attachments: '附件',
    week: '本周', month: '本月', quarter: '本季度', year: '本年',
    count: '数量', co_office: '协办', grid_leader: '网格长',
    patrol: '巡查', patrol_week: '本周巡查', patrol_rule: '一周三巡、半月全覆盖',
    patrol_start: '开始巡查', patrol_end: '结束巡查并提交', patrolling_since: '巡查中，开始于',
    this_week: '本周', last_patrol: '上次巡查', never_patrolled: '尚无巡查记录',
    no_cells: '没有您负责的网格', choose_cell: '请选择网格', patrol_sent: '巡查已记录',
    patrols: '巡查', patrol_coverage: '巡查覆盖（一周三巡、半月全覆盖）', as_of: '截至',
    only_behind: '只看未达标', weeks_met: '本周达标', covered_half_month: '半月内已巡',
    export_month_csv: '导出近 31 天 CSV',
  },
  en: {
    app_m: 'Grid report', app_console: 'Governance console', lang_switch: '中文',
    username: 'Username', password: 'Password', login: 'Log in', logout: 'Log out',
    login_failed: 'Login failed', loading: 'Loading…', unavailable: 'Not available yet',
    new_report: 'Report', my_reports: 'My reports', category: 'Category',
    search_category: 'Search categories…', description: 'Description', photos: 'Photos',
    add_photo: 'Take / pick photo', location: 'Location', locate_me: 'Locate again',
    accuracy: 'Accuracy', meters: 'm', drag_pin: 'Drag the pin to correct the position',
    no_location: 'No position yet: allow location, or tap the map',
    goes_to: 'Goes to', cell: 'Cell', village: 'Village', branch: 'Party branch',
    zones: 'Zones', outside: 'Outside every cell; the governance office will triage it',
    submit: 'Send report', sending: 'Sending…', sent: 'Sent, case number',
    queued: 'No connection: saved, will be sent when back online', queue: 'Waiting to send',
    send_now: 'Send now', offline: 'Offline', online: 'Online',
    choose_category: 'Choose a category', need_description: 'Describe what happened',
    need_location: 'Locate first or tap the map', photo_needed: 'This category needs a photo',
    photo_failed: 'Photo upload failed', status: 'Status', deadline: 'Handle by',
    accept_by: 'Accept by', timeline: 'Timeline', confirm_title: 'Rate the result',
    satisfied: 'Satisfied', dispute: 'Not satisfied, reopen', note: 'Note', refresh: 'Refresh',
    no_reports: 'No reports yet', case_no: 'No.', received: 'Received',
    queue_title: 'Case queue', map: 'Map', cases: 'Cases', stats: 'Statistics',
    filter: 'Filter', all: 'All', overdue: 'Overdue', text: 'Text', from: 'From',
    to: 'To', apply: 'Search', export: 'Export', export_xlsx: 'Ledger XLSX',
    export_csv: 'CSV', export_geojson: 'GeoJSON', detail: 'Case detail',
    placement: 'Placement', reasons: 'Routing reasons', actions: 'Actions',
    no_actions: 'No action open to you now', possible_duplicates: 'Possible duplicates',
    assignee: 'Assignee', reason: 'Reason', duplicate_of: 'Duplicate of case id',
    referral: 'Referral', offices: 'Co-handling offices', hours: 'Extra hours',
    passed: 'Passed', do_action: 'Confirm', cancel: 'Cancel', period: 'Period',
    group_by: 'Group by', office: 'Office', by_branch: 'By branch',
    by_office: 'By office', by_village: 'By village', by_category: 'By category',
    received_n: 'Received', closed_n: 'Closed', on_time: 'On time', overdue_n: 'Overdue',
    reworked: 'Reworked', mean_hours: 'Mean hours', tile_url: 'Tile URL',
    layers: 'Layers', villages: 'Villages', cells: 'Cells', zones_layer: 'Zones',
    case_markers: 'Cases', sort_by: 'Sort', open_n: 'Open', none: 'None',
    version_conflict: 'Someone else updated the case; reloaded, try again',
    inside_yes: 'Inside a cell', level: 'Level', rework_count: 'Rework count',
    reject_invalid: 'Invalid', reject_duplicate: 'Duplicate', reject_not_ours: 'Not ours',
    page_prev: 'Previous', page_next: 'Next', close: 'Close',
    select_case: 'Choose a case in the queue or on the map', attachments: 'Attachments',
    week: 'This week', month: 'This month', quarter: 'This quarter', year: 'This year',
    count: 'Count', co_office: 'co-handling', grid_leader: 'Grid leader',
    patrol: 'Patrol', patrol_week: 'Patrols this week', patrol_rule: 'Three a week; every cell within half a month',
    patrol_start: 'Start patrol', patrol_end: 'End patrol and send', patrolling_since: 'Patrolling since',
    this_week: 'This week', last_patrol: 'Last patrol', never_patrolled: 'No patrol recorded yet',
    no_cells: 'No cells of yours', choose_cell: 'Choose a cell', patrol_sent: 'Patrol recorded',
    patrols: 'Patrols', patrol_coverage: 'Patrol coverage (three a week, every cell within half a month)', as_of: 'As of',
    only_behind: 'Only cells behind', weeks_met: 'Met this week', covered_half_month: 'Walked in 15 days',
    export_month_csv: 'Export 31 days as CSV',
  },
};

const STATUS = {
  reported: ['已上报', 'Reported'], accepted: ['已受理', 'Accepted'],
  dispatched: ['已派遣', 'Dispatched'], in_progress: ['处置中', 'In progress'],
  handled: ['已处置', 'Handled'], verifying: ['核查中', 'Verifying'],
  closed: ['已结案', 'Closed'], rejected: ['不予受理', 'Rejected'],
  reopened: ['已重新打开', 'Reopened'],
};

const ACTIONS = {
  accept: ['受理', 'Accept'], reject: ['不予受理', 'Reject'],
  dispatch: ['派遣', 'Dispatch'], start: ['开始处置', 'Start'],
  handle: ['处置完成', 'Handled'], verify: ['提交核查', 'Verify'],
  pass: ['核查通过结案', 'Pass'], fail: ['核查不通过返工', 'Fail (rework)'],
  confirm: ['评价', 'Confirm'], reopen: ['重新打开', 'Reopen'],
  comment: ['备注', 'Comment'], reassign: ['改派', 'Reassign'],
  escalate: ['吹哨上报', 'Escalate'], report_in: ['报到', 'Report in'],
  request_extension: ['申请延期', 'Request extension'],
  approve_extension: ['批准延期', 'Approve extension'],
  deny_extension: ['驳回延期', 'Deny extension'],
};

const KEY = 'wangge.lang';

export function lang() {
  const v = localStorage.getItem(KEY);
  return v === 'en' ? 'en' : 'zh';
}

export function setLang(l) {
  localStorage.setItem(KEY, l === 'en' ? 'en' : 'zh');
}

export function t(key) {
  return STRINGS[lang()][key] ?? STRINGS.zh[key] ?? key;
}

export function statusName(s) {
  const v = STATUS[s];
  return v ? v[lang() === 'en' ? 1 : 0] : String(s ?? '');
}

export function actionName(a) {
  const v = ACTIONS[a];
  return v ? v[lang() === 'en' ? 1 : 0] : String(a ?? '');
}

// Fills every marked element below `root` in the current language.
export function applyI18n(root = document) {
  document.documentElement.lang = lang() === 'en' ? 'en' : 'zh-CN';
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-placeholder]')) {
    el.placeholder = t(el.dataset.i18nPlaceholder);
  }
  for (const el of root.querySelectorAll('[data-i18n-title]')) el.title = t(el.dataset.i18nTitle);
  for (const el of root.querySelectorAll('[data-i18n-label]')) {
    el.setAttribute('aria-label', t(el.dataset.i18nLabel));
  }
}
