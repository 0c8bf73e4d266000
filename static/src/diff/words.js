// Words the diff page shows that the server does not hand over: English fallbacks for the page texts, and
// element type names in each of Kesu's languages.
export const FALLBACK_TEXTS = {
  added: 'Added',
  removed: 'Removed',
  changed: 'Changed',
  layout: 'Moved or resized',
  no_differences: 'No differences.',
  diagrams_not_loaded: 'The diagrams could not be loaded:',
};

const TYPES = {
  en: {},
  zh_Hans: {
    Task: '任务', UserTask: '用户任务', ServiceTask: '服务任务', ScriptTask: '脚本任务', ManualTask: '手工任务',
    BusinessRuleTask: '业务规则任务', SendTask: '发送任务', ReceiveTask: '接收任务', CallActivity: '调用活动',
    SubProcess: '子流程', StartEvent: '开始事件', EndEvent: '结束事件', BoundaryEvent: '边界事件',
    IntermediateCatchEvent: '中间捕获事件', IntermediateThrowEvent: '中间抛出事件', ExclusiveGateway: '排他网关',
    ParallelGateway: '并行网关', InclusiveGateway: '包容网关', EventBasedGateway: '事件网关',
    SequenceFlow: '顺序流', MessageFlow: '消息流', Association: '关联', Lane: '泳道', Participant: '泳池',
    Process: '流程', Collaboration: '协作', TextAnnotation: '文本注释', DataObjectReference: '数据对象',
    DataStoreReference: '数据存储',
  },
  zh_Hant: {
    Task: '任務', UserTask: '使用者任務', ServiceTask: '服務任務', ScriptTask: '腳本任務', ManualTask: '手工任務',
    BusinessRuleTask: '業務規則任務', SendTask: '發送任務', ReceiveTask: '接收任務', CallActivity: '呼叫活動',
    SubProcess: '子流程', StartEvent: '開始事件', EndEvent: '結束事件', BoundaryEvent: '邊界事件',
    IntermediateCatchEvent: '中間捕獲事件', IntermediateThrowEvent: '中間拋出事件', ExclusiveGateway: '排他閘道',
    ParallelGateway: '並行閘道', InclusiveGateway: '包容閘道', EventBasedGateway: '事件閘道',
    SequenceFlow: '順序流', MessageFlow: '訊息流', Association: '關聯', Lane: '泳道', Participant: '泳池',
    Process: '流程', Collaboration: '協作', TextAnnotation: '文字註解', DataObjectReference: '資料物件',
    DataStoreReference: '資料儲存',
  },
};

// What the diagram viewers themselves say (the minimap's toggle).
export const VIEWER_WORDS = {
  zh_Hans: { 'Open minimap': '打开缩略图', 'Close minimap': '关闭缩略图' },
  zh_Hant: { 'Open minimap': '打開縮略圖', 'Close minimap': '關閉縮略圖' },
};

/** "bpmn:UserTask" as a reader of the page's language calls it ("User task" in English). */
export function typeName(type, locale) {
  const local = type.split(':').pop();
  const english = local.replace(/([a-z])([A-Z])/g, '$1 $2');
  return (TYPES[locale] || TYPES.en)[local] || english.charAt(0) + english.slice(1).toLowerCase();
}
