// The page's words in Korean (the default) and English, and numbers and dates formatted for the chosen language.
const WORDS = {
  ko: {
    title: "GPU 지원사업 운영 대시보드",
    signInTitle: "운영자 로그인",
    clientId: "클라이언트 ID",
    clientSecret: "클라이언트 시크릿",
    signIn: "로그인",
    signOut: "로그아웃",
    signedInAs: "로그인: {who}",
    signInFailed: "로그인하지 못했습니다: {why}",
    sessionEnded: "세션이 만료되었습니다. 다시 로그인하세요.",
    language: "언어",
    navEvents: "이벤트", navFunnel: "진행 단계", navPool: "자원 현황", navBalance: "균형", navDemand: "수요",
    navReclaim: "회수", navDeadLetters: "처리 실패", navCalls: "공모",
    events: "실시간 이벤트",
    live: "실시간", connecting: "연결 중…", offline: "연결 끊김",
    filterProgram: "사업", filterCall: "공모 ID", filterApplication: "신청 ID", filterCsp: "CSP", filterType: "유형",
    any: "전체", apply: "적용", clear: "초기화",
    noEvents: "아직 이벤트가 없습니다.",
    more: "더 보기",
    story: "신청 이력",
    storyStage: "현재 단계: {stage}",
    close: "닫기",
    funnel: "사업·공모별 진행 단계",
    applications: "신청", gpus: "GPU",
    rolling: "상시 접수",
    call: "공모 {id}",
    noData: "자료가 없습니다.",
    pool: "GPU 자원 현황",
    occupancy: "모델·CSP별 할당 GPU",
    capacity: "앞으로 {weeks}주의 여유 GPU",
    model: "모델", week: "주", free: "여유", total: "전체", allocated: "할당",
    balance: "균형 현황",
    region: "지역", capital: "수도권", nonCapital: "비수도권", sector: "부문", size: "기업 규모",
    institution: "기관", others: "기타",
    earlyCareer: "신진연구자 우선 배정(30%)",
    reserved: "배정분", used: "사용", spilled: "일반 전환",
    youthRegional: "P1 청년·지역 기업",
    youth: "청년 기업", regional: "지역 기업", earlyCareerTrack: "신진연구자",
    unknown: "미상", wonInGeneral: "일반 경쟁 확보",
    sharesAllocated: "할당된 GPU 기준 비율", sharesRequested: "아직 할당 전: 요청 GPU 기준 비율",
    key_industry: "산업계", key_academia: "학계", key_research_institute: "연구기관", key_public: "공공",
    key_small: "중소기업", key_startup: "스타트업",
    demand: "수요 대비 공급",
    requested: "요청 GPU·월", supply: "공급 GPU·월",
    waitlist: "대기자 명단",
    depth: "대기 건수", oldest: "최장 대기", median: "중간 대기",
    days: "{n}일",
    reclaim: "회수 단계",
    allocation: "할당", rule: "규칙", utilization: "사용률", threshold: "기준", level: "단계", since: "시작",
    warning: "경고", reclaimLevel: "회수 대상",
    reclaimNow: "즉시 회수", waive: "회수 면제",
    confirmReclaim: "이 할당을 지금 회수할까요?",
    freshness: "CSP 원격 측정 상태",
    lastSample: "마지막 수신", stale: "끊김", lowCoverage: "수집 부족", fresh: "정상",
    deadLetters: "처리 실패 메시지",
    topic: "토픽", reason: "사유", consumer: "처리 서비스", parkedAt: "발생", redrive: "재처리",
    redriven: "재처리함",
    calls: "공모",
    closeCall: "마감", call_open: "접수 중", call_closed: "마감됨",
    confirmClose: "이 공모를 마감할까요?",
    opensAt: "시작", closesAt: "마감일", status: "상태",
    done: "완료되었습니다.",
    failed: "실패: {why}",
    rule_mean_below_plan: "평균 사용률 미달",
    rule_gpu_hours_below_plan: "사용 시간 미달",
    stage_submitted: "접수", stage_scored: "평가 완료", stage_waitlisted: "대기", stage_rejected: "탈락",
    stage_selected: "선정", stage_active: "사용 중", stage_withdrawn: "철회", stage_reclaimed: "회수",
    stage_completed: "종료",
    "type_intake.application_submitted": "신청 접수",
    "type_intake.application_withdrawn": "신청 철회",
    "type_intake.call_closed": "공모 마감",
    "type_intake.offer_accepted": "제안 수락",
    "type_intake.offer_declined": "제안 거절",
    "type_evaluation.application_scored": "평가 완료",
    "type_evaluation.application_rejected": "자격 미달",
    "type_evaluation.application_in_review": "심사 중",
    "type_evaluation.round_scored": "공모 평가 완료",
    "type_evaluation.eligibility_confirmed": "자격 재확인",
    "type_allocation.resource_allocated": "자원 할당",
    "type_allocation.application_waitlisted": "대기 등록",
    "type_allocation.resource_reclaimed": "자원 회수",
    "type_allocation.reclaim_waived": "회수 면제",
    "type_allocation.round_selected": "공모 선정",
    "type_allocation.offer_made": "재배정 제안",
    "type_allocation.offer_expired": "제안 만료",
    "type_allocation.eligibility_recheck_requested": "자격 재확인 요청",
    "type_telemetry.usage_recorded": "사용량 기록",
    "type_telemetry.utilization_dropped": "사용률 저하",
    "type_telemetry.utilization_recovered": "사용률 회복",
    "type_telemetry.telemetry_stale": "원격 측정 끊김",
    "type_billing.invoice_issued": "청구서 발행",
    "type_billing.credit_note_issued": "대변표 발행",
    "type_billing.market_price_set": "시장 가격 설정",
    "type_billing.open_source_release_recorded": "오픈소스 공개 기록",
  },
  en: {
    title: "GPU Support Programs — Operations",
    signInTitle: "Operator sign-in",
    clientId: "Client ID",
    clientSecret: "Client secret",
    signIn: "Sign in",
    signOut: "Sign out",
    signedInAs: "Signed in: {who}",
    signInFailed: "Could not sign in: {why}",
    sessionEnded: "Your session has ended. Please sign in again.",
    language: "Language",
    navEvents: "Events", navFunnel: "Funnel", navPool: "Pool", navBalance: "Balance", navDemand: "Demand",
    navReclaim: "Reclaim", navDeadLetters: "Dead letters", navCalls: "Calls",
    events: "Live events",
    live: "Live", connecting: "Connecting…", offline: "Disconnected",
    filterProgram: "Program", filterCall: "Call ID", filterApplication: "Application ID", filterCsp: "CSP",
    filterType: "Type",
    any: "Any", apply: "Apply", clear: "Clear",
    noEvents: "No events yet.",
    more: "More",
    story: "Application story",
    storyStage: "Stage now: {stage}",
    close: "Close",
    funnel: "Funnel by program and call",
    applications: "Applications", gpus: "GPUs",
    rolling: "Rolling intake",
    call: "Call {id}",
    noData: "No data.",
    pool: "GPU pool",
    occupancy: "Allocated GPUs by model and CSP",
    capacity: "Free GPUs in the next {weeks} weeks",
    model: "Model", week: "Week", free: "Free", total: "Total", allocated: "Allocated",
    balance: "Balance",
    region: "Region", capital: "Capital region", nonCapital: "Non-capital", sector: "Sector", size: "Company size",
    institution: "Institution", others: "Others",
    earlyCareer: "Early-career reserve (30%)",
    reserved: "Reserved", used: "Used", spilled: "Spilled over",
    youthRegional: "Youth and regional companies (P1)",
    youth: "Youth companies", regional: "Regional companies", earlyCareerTrack: "Early-career",
    unknown: "Unknown", wonInGeneral: "Won in general",
    sharesAllocated: "Shares of GPUs allocated", sharesRequested: "Nothing allocated yet: shares of GPUs requested",
    key_industry: "Industry", key_academia: "Academia", key_research_institute: "Research institutes",
    key_public: "Public", key_small: "Small", key_startup: "Startup",
    demand: "Demand against supply",
    requested: "Requested GPU-months", supply: "Supply GPU-months",
    waitlist: "Waitlist",
    depth: "Waiting", oldest: "Oldest", median: "Median wait",
    days: "{n} d",
    reclaim: "Reclaim ladder",
    allocation: "Allocation", rule: "Rule", utilization: "Utilization", threshold: "Threshold", level: "Level",
    since: "Since",
    warning: "Warning", reclaimLevel: "To reclaim",
    reclaimNow: "Reclaim now", waive: "Waive",
    confirmReclaim: "Reclaim this allocation now?",
    freshness: "CSP telemetry freshness",
    lastSample: "Last sample", stale: "Silent", lowCoverage: "Low coverage", fresh: "Fresh",
    deadLetters: "Dead letters",
    topic: "Topic", reason: "Reason", consumer: "Consumer", parkedAt: "Parked", redrive: "Re-drive",
    redriven: "Re-driven",
    calls: "Calls",
    closeCall: "Close", call_open: "Open", call_closed: "Closed",
    confirmClose: "Close this call?",
    opensAt: "Opens", closesAt: "Closes", status: "Status",
    done: "Done.",
    failed: "Failed: {why}",
    rule_mean_below_plan: "Mean below plan",
    rule_gpu_hours_below_plan: "GPU-hours below plan",
    stage_submitted: "Submitted", stage_scored: "Scored", stage_waitlisted: "Waitlisted", stage_rejected: "Rejected",
    stage_selected: "Selected", stage_active: "Active", stage_withdrawn: "Withdrawn", stage_reclaimed: "Reclaimed",
    stage_completed: "Completed",
    "type_intake.application_submitted": "Application submitted",
    "type_intake.application_withdrawn": "Application withdrawn",
    "type_intake.call_closed": "Call closed",
    "type_intake.offer_accepted": "Offer accepted",
    "type_intake.offer_declined": "Offer declined",
    "type_evaluation.application_scored": "Application scored",
    "type_evaluation.application_rejected": "Application rejected",
    "type_evaluation.application_in_review": "In review",
    "type_evaluation.round_scored": "Round scored",
    "type_evaluation.eligibility_confirmed": "Eligibility confirmed",
    "type_allocation.resource_allocated": "Resource allocated",
    "type_allocation.application_waitlisted": "Waitlisted",
    "type_allocation.resource_reclaimed": "Resource reclaimed",
    "type_allocation.reclaim_waived": "Reclaim waived",
    "type_allocation.round_selected": "Round selected",
    "type_allocation.offer_made": "Offer made",
    "type_allocation.offer_expired": "Offer expired",
    "type_allocation.eligibility_recheck_requested": "Eligibility re-check requested",
    "type_telemetry.usage_recorded": "Usage recorded",
    "type_telemetry.utilization_dropped": "Utilization dropped",
    "type_telemetry.utilization_recovered": "Utilization recovered",
    "type_telemetry.telemetry_stale": "Telemetry stale",
    "type_billing.invoice_issued": "Invoice issued",
    "type_billing.credit_note_issued": "Credit note issued",
    "type_billing.market_price_set": "Market price set",
    "type_billing.open_source_release_recorded": "Open-source release recorded",
  },
};

export const LANGUAGES = ["ko", "en"];
const LOCALES = { ko: "ko-KR", en: "en-GB" };
// the programs are Korean: dates and times are shown in Korea's time zone in either language
const TIME_ZONE = "Asia/Seoul";

let current = LANGUAGES.includes(localStorage.getItem("lang")) ? localStorage.getItem("lang") : "ko";

export function language() {
  return current;
}

export function setLanguage(lang) {
  if (!LANGUAGES.includes(lang)) return;
  current = lang;
  localStorage.setItem("lang", lang);
  document.documentElement.lang = lang;
  document.title = t("title");
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll("[data-i18n-placeholder]")) {
    el.placeholder = t(el.dataset.i18nPlaceholder);
  }
}

export function t(key, values = {}, fallback = key) {
  const text = WORDS[current][key] ?? WORDS.en[key] ?? fallback;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in values ? String(values[name]) : `{${name}}`));
}

// an event type without its version, in words: "intake.application_submitted.v1" → "신청 접수"
export function eventLabel(type) {
  const bare = type.replace(/\.v\d+$/, "");
  const key = `type_${bare}`;
  return key in WORDS[current] ? t(key) : bare;
}

export function number(value, options = {}) {
  return new Intl.NumberFormat(LOCALES[current], options).format(value);
}

export function percent(share) {
  return number(share, { style: "percent", maximumFractionDigits: 1 });
}

export function dateTime(iso) {
  if (!iso) return "—";
  return new Intl.DateTimeFormat(LOCALES[current], {
    dateStyle: "medium", timeStyle: "medium", timeZone: TIME_ZONE,
  }).format(new Date(iso));
}

export function date(iso) {
  if (!iso) return "—";
  return new Intl.DateTimeFormat(LOCALES[current], { dateStyle: "medium", timeZone: TIME_ZONE })
    .format(new Date(iso));
}

export function month(iso) {
  return new Intl.DateTimeFormat(LOCALES[current], { year: "numeric", month: "short", timeZone: TIME_ZONE })
    .format(new Date(iso));
}
