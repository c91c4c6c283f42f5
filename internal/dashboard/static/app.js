// Cascade dashboard: plain JavaScript, no build step.
//
// Every call goes to /api/ with the token from the sign-in form, kept in
// this tab's sessionStorage only, as "Authorization: Bearer <token>"; the
// server passes it on to the gRPC API, which decides what the caller may
// see and do. Live views read server-sent events through fetch(), since
// EventSource cannot send that header. Tokens never go into a URL.
'use strict';

(() => {
  const STRINGS = {
    en: {
      skip: 'Skip to content', loading: 'Loading…', signOut: 'Sign out', switchTo: 'Svenska', switchLang: 'sv',
      signInTitle: 'Sign in', token: 'Access token', signIn: 'Sign in',
      signInHelp: 'Paste the token you were given (cascadectl tokens issue). It stays in this browser tab only and is forgotten when the tab closes.',
      tokenRejected: 'The token was not accepted: it is wrong or has been revoked.',
      vendorView: 'Vendor view: every organisation', devView: 'Development mode: authentication is off',
      orgView: 'Organisation view', viewerView: 'read only',
      breaches: 'Breaches', noBreaches: 'No breaches yet. A new one appears here as soon as it is reported.',
      received: 'received', notices: '{0} notices', live: 'Live', reconnecting: 'Reconnecting…',
      progress: 'Progress', delivered: 'Delivered', acknowledged: 'Acknowledged', resolved: 'Resolved', overdue: 'Overdue', overdueOne: 'Overdue',
      nextDeadline: 'Next deadline', latestRevision: 'Revision {0}: acknowledged by {1} of {2}',
      byTimeLeft: 'Organisations by time left', filter: 'Filter organisations', showing: 'Showing {0} of {1}. Filter to find the others.',
      left: '{0} left', overdueBy: 'overdue by {0}', notDelivered: 'not delivered yet', done: 'resolved',
      deadline: 'Deadline', deliveredAt: 'Delivered', history: 'History', allBreaches: '← All breaches', back: '← Back',
      yourNotices: 'Your notices', noNotices: 'Your organisation has no notices.',
      ackBy: 'Your name or e-mail', ackNote: 'Note (optional)', ackButton: 'Acknowledge', ackRevision: 'Acknowledge revision {0}',
      acked: 'Acknowledged by {0}, {1}', ackDone: 'Notice acknowledged. The deadline still runs.',
      ackHelp: 'Acknowledging stops redelivery. It does not stop the 72-hour clock.',
      revision: 'Revision {0}', notice: 'Notice', organisation: 'Organisation', state: 'State',
      deliveries: 'Deliveries', approxSubjects: 'Data subjects (approx.)', resolvedAt: 'Resolved', outcome: 'Outcome',
      noHistory: 'No events yet.', by: 'by {0}', as: 'authenticated as {0}', truncated: 'Only the first part is shown.',
      unknownOrgs: 'Not in the registry, so not notified: {0}',
      notFound: 'Not found, or not yours to see.', forbidden: 'Your token may not see this.', failed: 'Something went wrong: {0}',
      state_NOTICE_STATE_PENDING: 'Pending', state_NOTICE_STATE_DELIVERED: 'Delivered',
      state_NOTICE_STATE_ACKNOWLEDGED: 'Acknowledged', state_NOTICE_STATE_RESOLVED: 'Resolved',
      outcome_OUTCOME_KIND_REPORTED_TO_AUTHORITY: 'Reported to the authority', outcome_OUTCOME_KIND_NOT_REPORTABLE: 'Not reportable',
      ev_created: 'Created', ev_delivered: 'Delivered', ev_redelivered: 'Delivered again', ev_revision_delivered: 'Revision delivered',
      ev_reminded: 'Reminder sent', ev_overdue: 'Overdue', ev_acknowledged: 'Acknowledged', ev_revision_acknowledged: 'Revision acknowledged',
      ev_outcome_recorded: 'Outcome recorded', ev_subject_communication_recorded: 'Data subject communication recorded',
      whatHappened: 'What happened', factsAsOf: 'The processor\'s facts as of revision {0}', title: 'Title', nature: 'Nature of the breach',
      occurred_from: 'Started', occurred_to: 'Ended', discovered_at: 'Discovered by the processor', data_categories: 'Categories of personal data',
      subject_categories: 'Categories of data subjects', likely_consequences: 'Likely consequences', measures_taken: 'Measures taken',
      measures_proposed: 'Measures proposed', advice_to_controllers: 'Advice to controllers', contact: 'Processor\'s contact',
      processor: 'Processor', yourCounts: 'Your organisation', approxRecords: 'Records (approx.)', processorDelay: 'Processor\'s delay',
      processorDelayText: '{0} from discovery to delivery', unknown: 'not given', timeLeft: 'Time left',
      callBack: 'Call the processor back on a number you know from your contract, never one taken from a message.',
      changes: 'What changed', noChanges: 'No revisions since the first report.', revisionAt: 'Revision {0} · {1}',
      before: 'Before', after: 'After', field: 'Field', youWereAdded: 'Your organisation was added in this revision',
      draftTitle: 'Report to the authority: draft', draftHelp: 'Copy each field into the authority\'s form (IMY: e-tjänst för personuppgiftsincidenter), or download the whole draft.',
      draftLang: 'Draft language', downloadMd: 'Download Markdown', downloadJSON: 'Download JSON', copy: 'Copy', copied: 'Copied: {0}',
      toComplete: 'Still to complete', copyFailed: 'Could not copy; select the text and copy it by hand.',
      d_controller: 'Controller', d_authority: 'Authority', d_notification_type: 'Type of notification', d_processor: 'Processor',
      d_became_aware_at: 'Became aware', d_deadline: 'Deadline (72 h)', d_processor_delay: 'Processor\'s delay', d_title: 'Breach',
      d_nature: 'Nature', d_occurred_from: 'Started', d_occurred_to: 'Ended', d_discovered_by_processor_at: 'Discovered by the processor',
      d_data_categories: 'Categories of personal data', d_subject_categories: 'Categories of data subjects', d_approx_subjects: 'Data subjects (approx.)',
      d_approx_records: 'Records (approx.)', d_likely_consequences: 'Likely consequences', d_measures_taken_by_processor: 'Measures taken by the processor',
      d_measures_proposed_by_processor: 'Measures proposed by the processor', d_advice_to_controllers: 'Advice to controllers', d_dpo_contact: 'DPO contact',
      d_delay_reason: 'Reasons for the delay', d_updates: 'Updates from the processor',
      outcomeTitle: 'Outcome', recordedBy: 'Your name or e-mail', reportedTitle: 'Reported to the authority', authority: 'Authority',
      reference: 'Reference (the authority\'s case number)', reportedAt: 'Reported at', delayReason: 'Reasons for the delay',
      delayReasonHelp: 'Reported after the deadline: Art. 33(1) requires the reasons for the delay.',
      delayReasonOptional: 'Only needed when the report is made after the deadline.',
      recordReport: 'Record the report', notReportableTitle: 'Not reportable', justification: 'Justification',
      notReportableHelp: 'Art. 33(1): no report when the breach is unlikely to result in a risk to people. Document why (Art. 33(5)).',
      recordNotReportable: 'Record as not reportable', outcomeRecorded: 'Outcome recorded.', outcomeHelp: 'Recording an outcome resolves the notice and stops its clock.',
      art34Title: 'Data subjects (Art. 34)', art34Kind: 'Decision', art34_COMMUNICATED: 'The data subjects were informed',
      art34_NOT_REQUIRED: 'Not required: no high risk', art34_EXEMPT: 'Exempt under Art. 34(3)', communicatedAt: 'Informed at', how: 'How (channel)',
      exemption: 'Exemption', ex_A: '(a) the data were unintelligible (e.g. encrypted)', ex_B: '(b) later measures removed the high risk',
      ex_C: '(c) disproportionate effort: a public communication instead', publicCommunication: 'Public communication (where and how)',
      recordArt34: 'Record the decision', art34Recorded: 'Decision recorded.', art34Done: 'Recorded: {0}',
      sc_SUBJECT_COMMUNICATION_KIND_COMMUNICATED: 'Data subjects informed', sc_SUBJECT_COMMUNICATION_KIND_NOT_REQUIRED: 'Not required',
      sc_SUBJECT_COMMUNICATION_KIND_EXEMPT: 'Exempt', reportedOutcome: 'Reported to {0}, reference {1}, {2}', lateReport: 'after the deadline',
      notReportableOutcome: 'Not reportable: {0}', evidenceTitle: 'Evidence', evidenceHelp: 'Your organisation\'s record of every notice, signed by Cascade (Art. 33(5)). Unpack it and check it with: cascadectl evidence verify DIR',
      downloadEvidence: 'Download evidence (zip)', downloaded: 'Downloaded {0}',
      obligationsTitle: 'NIS2 reports', ob_OBLIGATION_KIND_GDPR_ART33: 'GDPR report (Art. 33)',
      ob_OBLIGATION_KIND_NIS2_EARLY_WARNING: 'NIS2 early warning', ob_OBLIGATION_KIND_NIS2_INCIDENT_NOTIFICATION: 'NIS2 incident notification',
      ob_OBLIGATION_KIND_NIS2_FINAL_REPORT: 'NIS2 final report',
      obligationsHelp: 'Your organisation is under NIS2 (in Sweden the Cybersecurity Act): besides the GDPR report, the incident is reported to CERT-SE in three steps, each with its own deadline: the early warning within 24 hours, the incident notification within 72 hours, the final report one month after the incident notification. The notice is resolved once every report is recorded.',
      notApplicableTitle: 'Not applicable (e.g. not a significant incident)', recordNotApplicable: 'Record as not applicable',
      notApplicableOutcome: 'Not applicable: {0}', recordObligationReport: 'Record the report', draftEarlyWarning: 'Draft the early warning',
      obligationOpen: 'open', obNextDeadline: '{0}: {1}', obProgress: '{0}: {1} resolved, {2} open, {3} overdue',
      outcomeHelpNIS2: 'This is the GDPR report (Art. 33): recording it stops its clock. The notice is resolved once the NIS2 reports below are recorded too.',
      fixFields: 'Check the marked fields.', inbox: 'Inbox', unresolvedFirst: 'Every notice of your organisation, unresolved first, by time left.',
      allProcessors: 'Every processor', fromProcessor: 'Processor',
      show: 'Show', f_all: 'All', f_unacked: 'Not acknowledged', f_overdue: 'Overdue', f_unresolved: 'Unresolved', f_questions: 'Open questions',
      sortBy: 'Sort by', s_time: 'Time left', s_name: 'Name', downloadCSV: 'Download CSV', none: 'None match.',
      questions: 'Questions to the processor', askHelp: 'Ask the processor about this breach. Your question and the answer are kept in the notice\'s history and evidence. Asking does not stop the clock.',
      yourQuestion: 'Your question', ask: 'Send question', asked: 'Question sent. The answer appears here.', noQuestions: 'No questions yet.',
      waiting: 'Waiting for an answer · asked {0} ago', answeredAt: 'Answered {0}', sharedAnswers: 'Answers for every affected organisation',
      openQuestions: 'Open questions', noOpenQuestions: 'No unanswered questions.', askedAgo: 'asked {0} ago', answerLabel: 'Answer',
      shareWithAll: 'Share with every affected organisation (without the asker\'s name)', sendAnswer: 'Send answer', answered: 'Answer sent.',
      questionsCount: '{0} open', sharedBadge: 'shared with all', ageNow: 'less than a minute', askedAt: 'Asked {0} by {1}', escalatedBadge: 'escalated',
      state_NOTICE_STATE_WITHDRAWN: 'Withdrawn: not affected', noClock: 'no deadline: not affected', withdrawn: 'Withdrawn',
      affectedStatus: 'Affected?', as_AFFECTED_STATUS_CONFIRMED: 'confirmed', as_AFFECTED_STATUS_UNDER_INVESTIGATION: 'under investigation by the processor',
      as_AFFECTED_STATUS_NOT_AFFECTED: 'not affected', withdrawnAt: 'Withdrawn',
      yourCountsCorrected: 'Your numbers corrected: {0} data subjects, {1} records', youWereWithdrawn: 'The processor found your organisation not affected: {0}',
      ev_counts_corrected: 'Numbers corrected', ev_withdrawn: 'Withdrawn: not affected', ev_renotified: 'Notified again',
      nextUpdate: 'Next update from the processor', promisedBy: 'promised by {0}', promiseRecord: 'promises kept {0}, missed {1}',
      subjectsTitle: 'Words for your data subjects (Art. 34)', subjectsHelp: 'A draft to the people concerned, with your organisation\'s counts and the processor\'s text: as a letter, as plain text and as an SMS. Check it before you send it.',
      letter: 'Letter (Markdown)', plainText: 'Plain text', sms: 'SMS', chars: '{0} characters', download: 'Download',
      advisoryTitle: 'Public advisory page', advisoryPublished: 'The processor\'s public advisory page (you may link to it):',
      advisoryNotPublished: 'not published', publishAdvisory: 'Publish the advisory page', unpublishAdvisory: 'Withdraw the advisory page',
      advisoryUnpublished: 'The advisory page is withdrawn: it answers 404.',
      nt_new: 'new', 'nt_follow-up': 'follow-up',
      fc_authority: 'the authority', fc_organisation_number: 'organisation number', fc_own_reference: 'your own reference',
      fc_incident_type: 'type of incident', fc_incident_started: 'when it started', fc_incident_ended: 'when it ended (or that it is ongoing)',
      fc_subject_categories: 'categories of data subjects', fc_data_categories: 'categories of personal data', fc_approx_subjects: 'number of data subjects',
      fc_approx_records: 'number of records', fc_dpo_contact: 'DPO contact', fc_risk_assessment: 'your risk assessment',
      fc_controller_measures: 'your measures', fc_subject_communication: 'the Art. 34 decision', fc_delay_reason: 'reasons for the delay',
      escalatedTo: 'Escalated to', escOverdue: 'overdue escalation', escReminder: 'last reminder', ev_escalated: 'Escalated', ev_question_asked: 'Question asked', ev_question_answered: 'Question answered', ev_answer_shared: 'Answer shared with all',
      ev_channel_delivered: 'Delivered on a channel', ev_channel_failed: 'Delivery attempt failed', ev_channel_dead_lettered: 'Given up (dead letter)',
      // check page (#/verify)
      verifyNav: 'Check a message', verifyFromSignIn: 'Received a message from Cascade? Check that it is genuine (no sign-in needed) →',
      verifyTitle: 'Check a message',
      verifyHelp: 'Drop the file you received: the cascade-message.json attached to Cascade\'s e-mail (or the whole e-mail), a webhook request saved with its headers, or a message saved with nats stream get --json or nats sub --dump. The check uses Cascade\'s public keys; nothing is stored.',
      verifyDrop: 'Drop the file here, or choose it', verifyPaste: 'Or paste the message', verifyButton: 'Check',
      verifyChecking: 'Checking…', verifyTooBig: 'The file is larger than 1 MiB: give the attachment cascade-message.json or the message alone.',
      verifyEmpty: 'Drop a file or paste a message first.',
      genuine: 'Genuine: signed by Cascade', notGenuine: 'NOT genuine',
      vr_unsupported_format: 'This is not a message Cascade can read.', vr_no_signature: 'The message carries no Cascade signature.',
      vr_malformed: 'The signature is damaged.', vr_unknown_key: 'It was signed with a key that is not Cascade\'s: forged.',
      vr_key_expired: 'It was signed with a key Cascade no longer uses.', vr_tampered: 'The message was changed after Cascade signed it.',
      va_unsupported_format: 'Give the cascade-message.json attached to the e-mail, the whole e-mail, a webhook request saved with its headers, or a message saved with the nats CLI.',
      va_no_signature: 'Cascade signs every message. If you saved it without its headers, save it again with them. Otherwise do not act on it: call the processor on a number you know from your contract, never one from the message.',
      va_malformed: 'Do not act on it. Call the processor on a number you know from your contract, never one from the message.',
      va_unknown_key: 'Do not act on it. Call the processor on a number you know from your contract, never one from the message.',
      va_key_expired: 'It can no longer be checked. Look the notice up here in Cascade before you act.',
      va_tampered: 'Do not act on it. Call the processor on a number you know from your contract, never one from the message.',
      claimed: 'What the message says', held: 'What Cascade holds', claimedNote: 'Trust these only because the signature checks out.',
      unverifiedNote: 'Not confirmed by a signature: do not trust these.',
      event: 'Event', keyId: 'Signing key', keyRetired: 'replaced, valid until {0}', sentAt: 'Sent', title: 'Title',
      fn_sign_in: 'Sign in to see the notice as Cascade holds it.', fn_not_yours: 'Your sign-in may not see this notice: it was sent to another organisation ({0}). Check that the organisation is yours.',
      fn_no_notice: 'This message is about no notice.', fn_unavailable: 'Cascade could not be asked right now; try again.',
      fn_not_verified: 'Facts are shown only for a genuine message.', openNotice: 'Open the notice',
    },
    sv: {
      skip: 'Hoppa till innehållet', loading: 'Laddar…', signOut: 'Logga ut', switchTo: 'English', switchLang: 'en',
      signInTitle: 'Logga in', token: 'Åtkomsttoken', signIn: 'Logga in',
      signInHelp: 'Klistra in den token du har fått (cascadectl tokens issue). Den sparas bara i den här fliken och glöms när fliken stängs.',
      tokenRejected: 'Token godtogs inte: den är fel eller har återkallats.',
      vendorView: 'Leverantörsvy: alla organisationer', devView: 'Utvecklingsläge: inloggning är avstängd',
      orgView: 'Organisationsvy', viewerView: 'endast läsning',
      breaches: 'Incidenter', noBreaches: 'Inga incidenter ännu. En ny visas här så snart den rapporteras.',
      received: 'mottagen', notices: '{0} underrättelser', live: 'Live', reconnecting: 'Ansluter igen…',
      progress: 'Förlopp', delivered: 'Levererade', acknowledged: 'Kvitterade', resolved: 'Avslutade', overdue: 'Försenade', overdueOne: 'Försenad',
      nextDeadline: 'Nästa tidsfrist', latestRevision: 'Revision {0}: kvitterad av {1} av {2}',
      byTimeLeft: 'Organisationer efter återstående tid', filter: 'Filtrera organisationer', showing: 'Visar {0} av {1}. Filtrera för att hitta de andra.',
      left: '{0} kvar', overdueBy: 'försenad {0}', notDelivered: 'inte levererad än', done: 'avslutad',
      deadline: 'Tidsfrist', deliveredAt: 'Levererad', history: 'Historik', allBreaches: '← Alla incidenter', back: '← Tillbaka',
      yourNotices: 'Era underrättelser', noNotices: 'Er organisation har inga underrättelser.',
      ackBy: 'Ditt namn eller e-post', ackNote: 'Anteckning (frivillig)', ackButton: 'Kvittera', ackRevision: 'Kvittera revision {0}',
      acked: 'Kvitterad av {0}, {1}', ackDone: 'Underrättelsen är kvitterad. Tidsfristen löper vidare.',
      ackHelp: 'Kvittering stoppar nya leveranser. Den stoppar inte 72-timmarsfristen.',
      revision: 'Revision {0}', notice: 'Underrättelse', organisation: 'Organisation', state: 'Status',
      deliveries: 'Leveranser', approxSubjects: 'Registrerade (ungefär)', resolvedAt: 'Avslutad', outcome: 'Utfall',
      noHistory: 'Inga händelser än.', by: 'av {0}', as: 'autentiserad som {0}', truncated: 'Bara den första delen visas.',
      unknownOrgs: 'Finns inte i registret och har inte underrättats: {0}',
      notFound: 'Finns inte, eller är inte er att se.', forbidden: 'Er token får inte se detta.', failed: 'Något gick fel: {0}',
      state_NOTICE_STATE_PENDING: 'Väntar', state_NOTICE_STATE_DELIVERED: 'Levererad',
      state_NOTICE_STATE_ACKNOWLEDGED: 'Kvitterad', state_NOTICE_STATE_RESOLVED: 'Avslutad',
      outcome_OUTCOME_KIND_REPORTED_TO_AUTHORITY: 'Anmäld till tillsynsmyndigheten', outcome_OUTCOME_KIND_NOT_REPORTABLE: 'Inte anmälningspliktig',
      ev_created: 'Skapad', ev_delivered: 'Levererad', ev_redelivered: 'Levererad igen', ev_revision_delivered: 'Revision levererad',
      ev_reminded: 'Påminnelse skickad', ev_overdue: 'Försenad', ev_acknowledged: 'Kvitterad', ev_revision_acknowledged: 'Revision kvitterad',
      ev_outcome_recorded: 'Utfall registrerat', ev_subject_communication_recorded: 'Information till registrerade registrerad',
      whatHappened: 'Vad som hänt', factsAsOf: 'Personuppgiftsbiträdets uppgifter enligt revision {0}', title: 'Rubrik', nature: 'Incidentens art',
      occurred_from: 'Började', occurred_to: 'Slutade', discovered_at: 'Upptäckt av biträdet', data_categories: 'Kategorier av personuppgifter',
      subject_categories: 'Kategorier av registrerade', likely_consequences: 'Sannolika konsekvenser', measures_taken: 'Vidtagna åtgärder',
      measures_proposed: 'Föreslagna åtgärder', advice_to_controllers: 'Råd till personuppgiftsansvariga', contact: 'Biträdets kontaktperson',
      processor: 'Personuppgiftsbiträde', yourCounts: 'Er organisation', approxRecords: 'Poster (ungefär)', processorDelay: 'Biträdets fördröjning',
      processorDelayText: '{0} från upptäckt till leverans', unknown: 'inte angivet', timeLeft: 'Tid kvar',
      callBack: 'Ring tillbaka till biträdet på ett nummer ni känner från avtalet, aldrig ett som står i ett meddelande.',
      changes: 'Vad som ändrats', noChanges: 'Inga revisioner sedan den första rapporten.', revisionAt: 'Revision {0} · {1}',
      before: 'Före', after: 'Efter', field: 'Uppgift', youWereAdded: 'Er organisation lades till i den här revisionen',
      draftTitle: 'Anmälan till tillsynsmyndigheten: utkast', draftHelp: 'Kopiera varje uppgift till myndighetens formulär (IMY: e-tjänst för personuppgiftsincidenter), eller ladda ner hela utkastet.',
      draftLang: 'Utkastets språk', downloadMd: 'Ladda ner Markdown', downloadJSON: 'Ladda ner JSON', copy: 'Kopiera', copied: 'Kopierat: {0}',
      toComplete: 'Att fylla i', copyFailed: 'Kunde inte kopiera; markera texten och kopiera den för hand.',
      d_controller: 'Personuppgiftsansvarig', d_authority: 'Tillsynsmyndighet', d_notification_type: 'Typ av anmälan', d_processor: 'Personuppgiftsbiträde',
      d_became_aware_at: 'Fick kännedom', d_deadline: 'Tidsfrist (72 h)', d_processor_delay: 'Biträdets fördröjning', d_title: 'Incident',
      d_nature: 'Art', d_occurred_from: 'Började', d_occurred_to: 'Slutade', d_discovered_by_processor_at: 'Upptäckt av biträdet',
      d_data_categories: 'Kategorier av personuppgifter', d_subject_categories: 'Kategorier av registrerade', d_approx_subjects: 'Registrerade (ungefär)',
      d_approx_records: 'Poster (ungefär)', d_likely_consequences: 'Sannolika konsekvenser', d_measures_taken_by_processor: 'Åtgärder vidtagna av biträdet',
      d_measures_proposed_by_processor: 'Åtgärder föreslagna av biträdet', d_advice_to_controllers: 'Råd till personuppgiftsansvariga', d_dpo_contact: 'Dataskyddsombud',
      d_delay_reason: 'Skäl till förseningen', d_updates: 'Uppdateringar från biträdet',
      outcomeTitle: 'Utfall', recordedBy: 'Ditt namn eller e-post', reportedTitle: 'Anmäld till tillsynsmyndigheten', authority: 'Tillsynsmyndighet',
      reference: 'Referens (myndighetens diarienummer)', reportedAt: 'Anmäld', delayReason: 'Skäl till förseningen',
      delayReasonHelp: 'Anmäld efter tidsfristen: artikel 33.1 kräver skälen till förseningen.',
      delayReasonOptional: 'Behövs bara om anmälan görs efter tidsfristen.',
      recordReport: 'Registrera anmälan', notReportableTitle: 'Inte anmälningspliktig', justification: 'Motivering',
      notReportableHelp: 'Artikel 33.1: ingen anmälan om incidenten sannolikt inte medför en risk för människor. Dokumentera varför (artikel 33.5).',
      recordNotReportable: 'Registrera som inte anmälningspliktig', outcomeRecorded: 'Utfallet är registrerat.', outcomeHelp: 'När ett utfall registreras avslutas underrättelsen och tidsfristen stannar.',
      art34Title: 'De registrerade (artikel 34)', art34Kind: 'Beslut', art34_COMMUNICATED: 'De registrerade har informerats',
      art34_NOT_REQUIRED: 'Krävs inte: ingen hög risk', art34_EXEMPT: 'Undantag enligt artikel 34.3', communicatedAt: 'Informerade', how: 'Hur (kanal)',
      exemption: 'Undantag', ex_A: '(a) uppgifterna var oläsliga (t.ex. krypterade)', ex_B: '(b) senare åtgärder har undanröjt den höga risken',
      ex_C: '(c) oproportionerlig ansträngning: offentlig information i stället', publicCommunication: 'Offentlig information (var och hur)',
      recordArt34: 'Registrera beslutet', art34Recorded: 'Beslutet är registrerat.', art34Done: 'Registrerat: {0}',
      sc_SUBJECT_COMMUNICATION_KIND_COMMUNICATED: 'De registrerade informerade', sc_SUBJECT_COMMUNICATION_KIND_NOT_REQUIRED: 'Krävs inte',
      sc_SUBJECT_COMMUNICATION_KIND_EXEMPT: 'Undantag', reportedOutcome: 'Anmäld till {0}, referens {1}, {2}', lateReport: 'efter tidsfristen',
      notReportableOutcome: 'Inte anmälningspliktig: {0}', evidenceTitle: 'Bevisning', evidenceHelp: 'Er organisations underlag för varje underrättelse, signerat av Cascade (artikel 33.5). Packa upp och kontrollera med: cascadectl evidence verify KATALOG',
      downloadEvidence: 'Ladda ner bevisning (zip)', downloaded: 'Nedladdat {0}',
      obligationsTitle: 'NIS2-rapporter', ob_OBLIGATION_KIND_GDPR_ART33: 'Anmälan enligt dataskyddsförordningen (art. 33)',
      ob_OBLIGATION_KIND_NIS2_EARLY_WARNING: 'NIS2: tidig varning', ob_OBLIGATION_KIND_NIS2_INCIDENT_NOTIFICATION: 'NIS2: incidentanmälan',
      ob_OBLIGATION_KIND_NIS2_FINAL_REPORT: 'NIS2: slutrapport',
      obligationsHelp: 'Er organisation omfattas av cybersäkerhetslagen (NIS2): utöver anmälan enligt dataskyddsförordningen rapporteras incidenten till CERT-SE i tre steg, vart och ett med egen tidsfrist: tidig varning inom 24 timmar, incidentanmälan inom 72 timmar och slutrapport en månad efter incidentanmälan. Underrättelsen avslutas när alla rapporter är registrerade.',
      notApplicableTitle: 'Inte tillämplig (t.ex. inte en betydande incident)', recordNotApplicable: 'Registrera som inte tillämplig',
      notApplicableOutcome: 'Inte tillämplig: {0}', recordObligationReport: 'Registrera rapporten', draftEarlyWarning: 'Utkast till tidig varning',
      obligationOpen: 'öppen', obNextDeadline: '{0}: {1}', obProgress: '{0}: {1} avslutade, {2} öppna, {3} försenade',
      outcomeHelpNIS2: 'Detta är anmälan enligt dataskyddsförordningen (art. 33): när den registreras stannar dess tidsfrist. Underrättelsen avslutas när även NIS2-rapporterna nedan är registrerade.',
      fixFields: 'Kontrollera de markerade fälten.', inbox: 'Inkorg', unresolvedFirst: 'Alla er organisations underrättelser, oavslutade först, efter återstående tid.',
      allProcessors: 'Alla personuppgiftsbiträden', fromProcessor: 'Personuppgiftsbiträde',
      show: 'Visa', f_all: 'Alla', f_unacked: 'Inte kvitterade', f_overdue: 'Försenade', f_unresolved: 'Oavslutade', f_questions: 'Öppna frågor',
      sortBy: 'Sortera efter', s_time: 'Tid kvar', s_name: 'Namn', downloadCSV: 'Ladda ner CSV', none: 'Inga träffar.',
      questions: 'Frågor till biträdet', askHelp: 'Fråga biträdet om incidenten. Frågan och svaret sparas i underrättelsens historik och bevisning. En fråga stoppar inte tidsfristen.',
      yourQuestion: 'Din fråga', ask: 'Skicka fråga', asked: 'Frågan är skickad. Svaret visas här.', noQuestions: 'Inga frågor än.',
      waiting: 'Väntar på svar · ställd för {0} sedan', answeredAt: 'Besvarad {0}', sharedAnswers: 'Svar till alla berörda organisationer',
      openQuestions: 'Öppna frågor', noOpenQuestions: 'Inga obesvarade frågor.', askedAgo: 'ställd för {0} sedan', answerLabel: 'Svar',
      shareWithAll: 'Dela med alla berörda organisationer (utan frågeställarens namn)', sendAnswer: 'Skicka svar', answered: 'Svaret är skickat.',
      questionsCount: '{0} öppna', sharedBadge: 'delat med alla', ageNow: 'mindre än en minut', askedAt: 'Ställd {0} av {1}', escalatedBadge: 'eskalerad',
      state_NOTICE_STATE_WITHDRAWN: 'Återkallad: inte berörd', noClock: 'ingen tidsfrist: inte berörd', withdrawn: 'Återkallade',
      affectedStatus: 'Berörd?', as_AFFECTED_STATUS_CONFIRMED: 'bekräftat', as_AFFECTED_STATUS_UNDER_INVESTIGATION: 'biträdet utreder',
      as_AFFECTED_STATUS_NOT_AFFECTED: 'inte berörd', withdrawnAt: 'Återkallad',
      yourCountsCorrected: 'Era antal rättade: {0} registrerade, {1} poster', youWereWithdrawn: 'Biträdet har funnit att er organisation inte är berörd: {0}',
      ev_counts_corrected: 'Antal rättade', ev_withdrawn: 'Återkallad: inte berörd', ev_renotified: 'Underrättad igen',
      nextUpdate: 'Nästa uppdatering från biträdet', promisedBy: 'utlovad senast {0}', promiseRecord: 'löften hållna {0}, missade {1}',
      subjectsTitle: 'Information till de registrerade (artikel 34)', subjectsHelp: 'Ett utkast till de berörda personerna, med er organisations antal och biträdets text: som brev, som ren text och som sms. Granska det innan ni skickar.',
      letter: 'Brev (Markdown)', plainText: 'Ren text', sms: 'Sms', chars: '{0} tecken', download: 'Ladda ner',
      advisoryTitle: 'Offentlig informationssida', advisoryPublished: 'Biträdets offentliga informationssida (ni kan länka till den):',
      advisoryNotPublished: 'inte publicerad', publishAdvisory: 'Publicera informationssidan', unpublishAdvisory: 'Dra tillbaka informationssidan',
      advisoryUnpublished: 'Informationssidan är tillbakadragen: den svarar 404.',
      nt_new: 'ny', 'nt_follow-up': 'komplettering',
      fc_authority: 'tillsynsmyndighet', fc_organisation_number: 'organisationsnummer', fc_own_reference: 'er egen referens',
      fc_incident_type: 'typ av incident', fc_incident_started: 'när den började', fc_incident_ended: 'när den slutade (eller att den pågår)',
      fc_subject_categories: 'kategorier av registrerade', fc_data_categories: 'kategorier av personuppgifter', fc_approx_subjects: 'antal registrerade',
      fc_approx_records: 'antal poster', fc_dpo_contact: 'dataskyddsombudets kontaktuppgifter', fc_risk_assessment: 'er riskbedömning',
      fc_controller_measures: 'era åtgärder', fc_subject_communication: 'beslutet enligt artikel 34', fc_delay_reason: 'skälen till förseningen',
      escalatedTo: 'Eskalerad till', escOverdue: 'eskalering vid försening', escReminder: 'sista påminnelsen', ev_escalated: 'Eskalerad', ev_question_asked: 'Fråga ställd', ev_question_answered: 'Fråga besvarad', ev_answer_shared: 'Svar delat med alla',
      ev_channel_delivered: 'Levererad via kanal', ev_channel_failed: 'Leveransförsök misslyckades', ev_channel_dead_lettered: 'Uppgiven (död post)',
      // check page (#/verify)
      verifyNav: 'Kontrollera ett meddelande', verifyFromSignIn: 'Fått ett meddelande från Cascade? Kontrollera att det är äkta (ingen inloggning behövs) →',
      verifyTitle: 'Kontrollera ett meddelande',
      verifyHelp: 'Släpp filen du fick: cascade-message.json som bifogas Cascades e-post (eller hela e-postmeddelandet), en webhook-begäran sparad med sina rubriker, eller ett meddelande sparat med nats stream get --json eller nats sub --dump. Kontrollen använder Cascades publika nycklar; inget sparas.',
      verifyDrop: 'Släpp filen här, eller välj den', verifyPaste: 'Eller klistra in meddelandet', verifyButton: 'Kontrollera',
      verifyChecking: 'Kontrollerar…', verifyTooBig: 'Filen är större än 1 MiB: ge bilagan cascade-message.json eller bara meddelandet.',
      verifyEmpty: 'Släpp en fil eller klistra in ett meddelande först.',
      genuine: 'Äkta: signerat av Cascade', notGenuine: 'INTE äkta',
      vr_unsupported_format: 'Det här är inget meddelande som Cascade kan läsa.', vr_no_signature: 'Meddelandet saknar Cascades signatur.',
      vr_malformed: 'Signaturen är skadad.', vr_unknown_key: 'Det är signerat med en nyckel som inte är Cascades: förfalskat.',
      vr_key_expired: 'Det är signerat med en nyckel som Cascade inte längre använder.', vr_tampered: 'Meddelandet har ändrats efter att Cascade signerade det.',
      va_unsupported_format: 'Ge cascade-message.json som bifogas e-posten, hela e-postmeddelandet, en webhook-begäran sparad med sina rubriker, eller ett meddelande sparat med nats-verktyget.',
      va_no_signature: 'Cascade signerar varje meddelande. Om du sparade det utan rubrikerna, spara det igen med dem. Annars: agera inte på det, utan ring personuppgiftsbiträdet på ett nummer du känner till från avtalet, aldrig ett från meddelandet.',
      va_malformed: 'Agera inte på det. Ring personuppgiftsbiträdet på ett nummer du känner till från avtalet, aldrig ett från meddelandet.',
      va_unknown_key: 'Agera inte på det. Ring personuppgiftsbiträdet på ett nummer du känner till från avtalet, aldrig ett från meddelandet.',
      va_key_expired: 'Det går inte längre att kontrollera. Slå upp underrättelsen här i Cascade innan du agerar.',
      va_tampered: 'Agera inte på det. Ring personuppgiftsbiträdet på ett nummer du känner till från avtalet, aldrig ett från meddelandet.',
      claimed: 'Vad meddelandet säger', held: 'Vad Cascade har', claimedNote: 'Lita på detta bara för att signaturen stämmer.',
      unverifiedNote: 'Inte bekräftat av en signatur: lita inte på detta.',
      event: 'Händelse', keyId: 'Signeringsnyckel', keyRetired: 'ersatt, giltig till {0}', sentAt: 'Skickat', title: 'Rubrik',
      fn_sign_in: 'Logga in för att se underrättelsen som Cascade har den.', fn_not_yours: 'Din inloggning får inte se den här underrättelsen: den skickades till en annan organisation ({0}). Kontrollera att organisationen är er.',
      fn_no_notice: 'Meddelandet gäller ingen underrättelse.', fn_unavailable: 'Cascade kunde inte nås just nu; försök igen.',
      fn_not_verified: 'Uppgifter visas bara för ett äkta meddelande.', openNotice: 'Öppna underrättelsen',
    },
  };

  const $ = (sel, root = document) => root.querySelector(sel);
  const store = { token: 'cascade.token', lang: 'cascade.lang', ackBy: 'cascade.ackBy' };

  let lang = pickLanguage();
  let session = null; // from /api/session
  let clockOffset = 0; // server time - local time, for the countdowns
  let viewAbort = null; // ends the current view's streams
  let rerender = null; // redraws the current view (after a language change)
  let onTick = null; // the current view's work each second

  function pickLanguage() {
    const saved = localStorage.getItem(store.lang);
    if (saved === 'sv' || saved === 'en') return saved;
    for (const l of navigator.languages || [navigator.language || 'en']) {
      const p = l.slice(0, 2).toLowerCase();
      if (p === 'sv' || p === 'en') return p;
    }
    return 'en';
  }

  function t(key, ...args) {
    return tIn(lang, key, ...args);
  }

  // tIn is t in another language than the page's (the draft's).
  function tIn(l, key, ...args) {
    const s = (STRINGS[l] || STRINGS.en)[key] ?? STRINGS.en[key] ?? key;
    return s.replace(/\{(\d)\}/g, (_, i) => String(args[Number(i)] ?? ''));
  }

  // h builds an element; text is always set as text, never as HTML.
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v == null || v === false) continue;
      if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else if (k === 'class') el.className = v;
      else if (k === 'value') el.value = v;
      else el.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat(Infinity)) {
      if (c == null || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }

  const num = (v) => new Intl.NumberFormat(lang).format(Number(v || 0));
  const enc = encodeURIComponent;
  const now = () => Date.now() + clockOffset;

  function fmtTime(ts, seconds) {
    if (!ts) return '';
    return new Intl.DateTimeFormat(lang === 'sv' ? 'sv-SE' : 'en-GB',
      { dateStyle: 'medium', timeStyle: seconds ? 'medium' : 'short' }).format(new Date(ts));
  }

  // fmtAge is a short age: "3 min", "2 h 5 min", "1 d 4 h".
  function fmtAge(ms) {
    const m = Math.max(0, Math.floor(ms / 60000));
    if (m < 1) return t('ageNow');
    if (m < 60) return `${m} min`;
    const hrs = Math.floor(m / 60);
    if (hrs < 24) return `${hrs} h ${m % 60} min`;
    return `${Math.floor(hrs / 24)} d ${hrs % 24} h`;
  }

  // goDuration reads a Go duration ("11310h34m0s") as milliseconds.
  function goDuration(s) {
    const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:([\d.]+)s)?$/.exec(s || '');
    return m ? ((Number(m[1] || 0) * 60 + Number(m[2] || 0)) * 60 + Number(m[3] || 0)) * 1000 : null;
  }

  function fmtDuration(ms) {
    const s = Math.floor(Math.abs(ms) / 1000);
    const d = Math.floor(s / 86400);
    const pad = (n) => String(n).padStart(2, '0');
    const hms = `${pad(Math.floor((s % 86400) / 3600))}:${pad(Math.floor((s % 3600) / 60))}:${pad(s % 60)}`;
    return d ? `${d} d ${hms}` : hms;
  }

  // ---- talking to the server ----

  class APIError extends Error {
    constructor(status, body) {
      super(body?.message || `HTTP ${status}`);
      this.status = status;
      this.code = body?.code || '';
      this.violations = body?.violations || [];
    }
  }

  function headers(extra) {
    const hd = { Accept: 'application/json', ...extra };
    const tok = sessionStorage.getItem(store.token);
    if (tok) hd.Authorization = 'Bearer ' + tok;
    return hd;
  }

  async function errorOf(res) {
    let body = null;
    try { body = await res.json(); } catch { /* not JSON */ }
    return new APIError(res.status, body);
  }

  async function api(path, opts = {}) {
    const res = await fetch(path, { ...opts, headers: headers(opts.body ? { 'Content-Type': 'application/json' } : {}), cache: 'no-store' });
    if (!res.ok) throw await errorOf(res);
    return res.json();
  }

  const sleep = (ms, signal) => new Promise((resolve) => {
    const id = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => { clearTimeout(id); resolve(); }, { once: true });
  });

  // stream reads server-sent events from path and calls on[event](data);
  // it reconnects after transient failures until signal aborts. on.live
  // is told whether the stream is connected; on.fail gets a final error.
  async function stream(path, on, signal) {
    let delay = 1000;
    const retry = async () => {
      on.live?.(false);
      await sleep(delay, signal);
      delay = Math.min(delay * 2, 15000);
    };
    while (!signal.aborted) {
      let res;
      try {
        res = await fetch(path, { headers: headers({ Accept: 'text/event-stream' }), signal, cache: 'no-store' });
      } catch {
        if (!signal.aborted) await retry();
        continue;
      }
      if (!res.ok) {
        const err = await errorOf(res);
        if (res.status === 503 || res.status === 504) { await retry(); continue; }
        return fail(err, on);
      }
      delay = 1000;
      on.live?.(true);
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = '';
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += value;
          let i;
          while ((i = buf.indexOf('\n\n')) >= 0) {
            const block = buf.slice(0, i);
            buf = buf.slice(i + 2);
            const ev = parseEvent(block);
            if (!ev) continue;
            if (ev.event === 'clock') {
              clockOffset = Date.parse(ev.data.server_time) - Date.now();
            } else if (ev.event === 'error') {
              const err = new APIError(0, ev.data);
              if (err.code !== 'UNAVAILABLE' && err.code !== 'DEADLINE_EXCEEDED') return fail(err, on);
              on.live?.(false);
            } else {
              on.live?.(true);
              on[ev.event]?.(ev.data);
            }
          }
        }
      } catch {
        // the connection broke: reconnect below
      }
      if (!signal.aborted) await retry();
    }
  }

  function parseEvent(block) {
    let event = 'message';
    const data = [];
    for (const line of block.split('\n')) {
      if (line === '' || line.startsWith(':')) continue;
      const c = line.indexOf(':');
      const field = c < 0 ? line : line.slice(0, c);
      let value = c < 0 ? '' : line.slice(c + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
    }
    if (!data.length) return null;
    return { event, data: JSON.parse(data.join('\n')) };
  }

  function fail(err, on) {
    on.live?.(false);
    if (err.code === 'UNAUTHENTICATED' || err.status === 401) return signOut(t('tokenRejected'));
    on.fail ? on.fail(err) : showError(err);
  }

  // ---- page frame ----

  function setStatus(msg) {
    $('#status').textContent = msg || '';
  }

  function showError(err) {
    const msg = err.code === 'NOT_FOUND' ? t('notFound') : err.code === 'PERMISSION_DENIED' ? t('forbidden') : t('failed', err.message);
    const main = $('#main');
    main.replaceChildren(h('p', { class: 'error', role: 'alert' }, msg), h('p', {}, h('a', { href: '#/' }, t('back'))));
  }

  function applyLanguage() {
    document.documentElement.lang = lang;
    for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
    const btn = $('#lang');
    btn.textContent = t('switchTo');
    btn.lang = t('switchLang');
    updateWho();
  }

  function updateWho(orgName) {
    const who = $('#who');
    if (!session) { who.textContent = ''; return; }
    if (orgName) who.dataset.org = orgName;
    if (session.scope === 'all') who.textContent = session.auth ? t('vendorView') : t('devView');
    else who.textContent = [t('orgView'), who.dataset.org, session.acknowledge ? '' : t('viewerView')].filter(Boolean).join(' · ');
    $('#signout').hidden = !session.auth;
  }

  function liveBadge() {
    return h('span', { class: 'live', 'data-live': 'false' }, t('reconnecting'));
  }

  function setLive(el, on) {
    if (!el) return;
    el.dataset.live = String(on);
    el.textContent = on ? t('live') : t('reconnecting');
  }

  function signOut(message) {
    sessionStorage.removeItem(store.token);
    session = null;
    updateWho();
    viewAbort?.abort();
    viewSignIn(message);
  }

  // ---- countdowns ----

  // remaining is the time to a notice's deadline (negative: overdue), or
  // null when it has none or no longer matters.
  const closed = (n) => n.state === 'NOTICE_STATE_RESOLVED' || n.state === 'NOTICE_STATE_WITHDRAWN';

  // nearestObligation is the open obligation of a notice with NIS2
  // obligations whose deadline comes first (GDPR's among them), or null:
  // a notice under GDPR alone has its own deadline only.
  function nearestObligation(n) {
    if (!n.obligations || n.obligations.length < 2) return null;
    const open = n.obligations.filter((o) => o.deadline && !o.outcome?.kind);
    open.sort((a, b) => Date.parse(a.deadline) - Date.parse(b.deadline));
    return open[0] || null;
  }
  const openDeadline = (n) => (n.obligations?.length > 1 ? nearestObligation(n)?.deadline : n.deadline);

  function remaining(n) {
    const d = openDeadline(n);
    if (!d || closed(n)) return null;
    return Date.parse(d) - now();
  }

  function countdownText(n) {
    if (n.state === 'NOTICE_STATE_RESOLVED') return t('done');
    if (n.state === 'NOTICE_STATE_WITHDRAWN') return t('noClock');
    const r = remaining(n);
    if (r == null) return t('notDelivered');
    return r < 0 ? t('overdueBy', fmtDuration(r)) : t('left', fmtDuration(r));
  }

  function countdown(n) {
    return h('span', { class: 'countdown', 'data-deadline': openDeadline(n) || '', 'data-state': n.state }, countdownText(n));
  }

  function tick() {
    for (const el of document.querySelectorAll('.countdown[data-deadline]')) {
      const n = { deadline: el.dataset.deadline, state: el.dataset.state };
      el.textContent = countdownText(n);
      const r = remaining(n);
      el.closest('.notice-row, .card')?.classList.toggle('late', r != null && r < 0);
    }
    for (const el of document.querySelectorAll('.age[data-asked-at]')) {
      el.textContent = t('askedAgo', fmtAge(now() - Date.parse(el.dataset.askedAt)));
    }
    onTick?.();
  }

  // byTimeLeft: overdue first (the longest overdue first), then by
  // deadline, then the undelivered, then the resolved.
  function byTimeLeft(a, b) {
    const rank = (n) => (n.state === 'NOTICE_STATE_WITHDRAWN' ? 4 : n.state === 'NOTICE_STATE_RESOLVED' ? 3 : !n.deadline ? 2 : remaining(n) < 0 ? 0 : 1);
    const at = (n) => (openDeadline(n) ? Date.parse(openDeadline(n)) : 0);
    return rank(a) - rank(b) || at(a) - at(b) || byName(a, b);
  }

  // Organisation names sort as Swedish: å, ä, ö after z (Alvesta before
  // Älmhult), whatever the page's language.
  const collator = new Intl.Collator('sv', { sensitivity: 'base', numeric: true });
  const byName = (a, b) => collator.compare(a.org_name || a.org_id, b.org_name || b.org_id) || collator.compare(a.org_id, b.org_id);

  function isLate(n) {
    const r = remaining(n);
    return n.overdue || (n.obligations || []).some((o) => o.overdue) || (r != null && r < 0);
  }

  function stateBadge(n) {
    return h('span', { class: 'badges' },
      h('span', { class: 'badge state ' + n.state.replace('NOTICE_STATE_', '').toLowerCase() }, t('state_' + n.state)),
      isLate(n) ? h('span', { class: 'badge overdue' }, t('overdueOne')) : null);
  }

  // reconcile keeps list's children in the order of items, reusing the
  // element of an item whose key and look did not change, so a focused
  // input or a half-typed acknowledgement survives an update.
  function reconcile(list, items, key, look, make) {
    const old = new Map([...list.children].map((el) => [el.dataset.key, el]));
    items.forEach((item, i) => {
      const k = key(item);
      const sig = look(item);
      let el = old.get(k);
      if (!el || el.dataset.sig !== sig) {
        const fresh = make(item);
        fresh.dataset.key = k;
        fresh.dataset.sig = sig;
        if (el) {
          for (const input of el.querySelectorAll('input[name]')) {
            const twin = fresh.querySelector(`input[name="${input.name}"]`);
            if (twin && input.value) twin.value = input.value;
          }
          el.replaceWith(fresh);
        }
        el = fresh;
      }
      old.delete(k);
      if (list.children[i] !== el) list.insertBefore(el, list.children[i] || null);
    });
    for (const el of old.values()) el.remove();
  }

  const signature = (n) => JSON.stringify(n) + lang + (isLate(n) ? 'late' : '');

  // ---- views ----

  function mainView(...children) {
    const main = $('#main');
    main.replaceChildren(...children);
    return main;
  }

  function viewSignIn(message) {
    rerender = () => viewSignIn(message);
    const input = h('input', { id: 'token', name: 'token', type: 'password', autocomplete: 'off', spellcheck: 'false', required: true });
    const err = h('p', { class: 'error', role: 'alert', id: 'signin-error' }, message || '');
    const form = h('form', { class: 'card signin', id: 'signin', novalidate: true },
      h('h1', {}, t('signInTitle')),
      h('p', { class: 'muted', id: 'signin-help' }, t('signInHelp')),
      h('label', { for: 'token' }, t('token')),
      input,
      h('button', { type: 'submit' }, t('signIn')),
      err,
      h('p', { class: 'verify-link' }, h('a', { href: '#/verify', id: 'signin-verify' }, t('verifyFromSignIn'))));
    input.setAttribute('aria-describedby', 'signin-help signin-error');
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const tok = input.value.trim();
      if (!tok) { input.focus(); return; }
      sessionStorage.setItem(store.token, tok);
      input.value = '';
      await start();
    });
    mainView(form);
    input.focus();
  }

  function breachCard(b, s, open) {
    const title = b.report?.title || b.id;
    const meta = [b.id, b.report?.processor, `${t('received')} ${fmtTime(b.received_at)}`].filter(Boolean).join(' · ');
    let progress = null;
    if (s) {
      const total = Number(s.total || 0);
      const overdue = Number(s.overdue || 0);
      progress = h('div', { class: 'mini' },
        meter('acknowledged', Number(s.acknowledged || 0), total, 'mini-' + b.id),
        overdue ? h('span', { class: 'badge overdue' }, `${t('overdue')}: ${num(overdue)}`) : null);
    } else if (Number(b.notice_count || 0)) {
      progress = h('p', { class: 'meta' }, t('notices', num(b.notice_count)));
    }
    return h('li', { class: 'card breach' + (s && Number(s.overdue || 0) ? ' late' : ''), 'data-breach-id': b.id },
      h('h2', {}, h('a', { href: '#/breach/' + enc(b.id) }, title)),
      h('p', { class: 'meta' }, meta),
      progress,
      open ? h('p', {}, h('span', { class: 'badge question' }, `${t('openQuestions')}: ${num(open)}`)) : null);
  }

  function meter(key, value, total, idPrefix) {
    const id = `${idPrefix || 'm'}-${key}`;
    return h('div', { class: 'meter ' + key, 'data-meter': key },
      h('span', { class: 'meter-label', id }, t(key)),
      h('progress', { max: Math.max(total, 1), value, 'aria-labelledby': id }),
      h('span', { class: 'meter-value' }, `${num(value)} / ${num(total)}`));
  }

  function viewBreachList(signal) {
    let data = null;
    const live = liveBadge();
    const list = h('ul', { class: 'cards', id: 'breach-list' });
    const note = h('p', { class: 'muted' }, t('loading'));
    mainView(h('div', { class: 'head' }, h('h1', {}, t('breaches')), live), note, list);
    const open = new Map(); // breach id -> unanswered questions
    const render = () => {
      if (!data) return;
      const sums = new Map((data.summaries || []).map((s) => [s.breach_id, s]));
      note.textContent = data.breaches.length ? (data.truncated ? t('truncated') : '') : t('noBreaches');
      reconcile(list, data.breaches, (b) => b.id, (b) => JSON.stringify([b, sums.get(b.id), open.get(b.id)]) + lang,
        (b) => breachCard(b, sums.get(b.id), open.get(b.id)));
    };
    rerender = () => { $('h1', $('#main')).textContent = t('breaches'); setLive(live, live.dataset.live === 'true'); render(); };
    stream('/api/events/breaches?summaries=1', { breaches: (d) => { data = d; render(); }, live: (on) => setLive(live, on) }, signal);
    stream('/api/events/questions?unanswered_only=1', {
      questions: (d) => {
        open.clear();
        for (const q of d.questions || []) open.set(q.breach_id, (open.get(q.breach_id) || 0) + 1);
        render();
      },
      fail: () => {}, // the breaches stay usable without the counts
    }, signal);
  }

  function noticeRow(n, open) {
    return h('li', { class: 'notice-row' + (isLate(n) ? ' late' : ''), 'data-org-id': n.org_id, 'data-state': n.state },
      h('div', { class: 'who-col' },
        h('a', { class: 'org-name', href: `#/notice/${enc(n.breach_id)}/${enc(n.org_id)}` }, n.org_name || n.org_id),
        h('span', { class: 'org-id' }, n.org_id)),
      h('span', { class: 'badges' }, stateBadge(n), open ? h('span', { class: 'badge question' }, t('questionsCount', num(open))) : null,
        (n.escalated_to || []).length ? h('span', { class: 'badge escalated', title: n.escalated_to.map((x) => x.email).join(', ') }, t('escalatedBadge')) : null),
      h('div', { class: 'time-col' },
        countdown(n),
        n.deadline ? h('span', { class: 'deadline' }, `${t('deadline')} ${fmtTime(n.deadline)}`) : null));
  }

  function viewBreach(id, signal) {
    const notices = new Map();
    let breach = null;
    let summary = null;
    let caughtUp = false;
    const live = liveBadge();
    const title = h('h1', { id: 'breach-title' }, id);
    const meta = h('p', { class: 'meta' });
    const warn = h('p', { class: 'warn', id: 'unknown-orgs' });
    const advisory = h('div', { class: 'row', id: 'advisory' });
    const promise = h('p', { class: 'meta', id: 'breach-promise' });
    const bars = h('div', { class: 'bars', id: 'progress' });
    const extra = h('p', { class: 'meta', id: 'progress-extra' });
    const perObligation = h('ul', { class: 'plain meta', id: 'obligation-progress' });
    const filter = h('input', { id: 'org-filter', name: 'filter', type: 'search', autocomplete: 'off' });
    const filterLabel = h('label', { for: 'org-filter' }, t('filter'));
    const count = h('p', { class: 'muted', id: 'org-count' });
    const list = h('ol', { class: 'notices', id: 'org-list' });
    const orgsHead = h('h2', { id: 'orgs-head' }, t('byTimeLeft'));
    // Which organisations to show, in which order.
    let show = 'all';
    const openQuestions = new Map(); // org id -> unanswered questions
    let questions = [];
    const chips = h('div', { class: 'chips', role: 'group', id: 'org-show' });
    const sort = h('select', { id: 'org-sort', name: 'sort' });
    const sortLabel = h('label', { for: 'org-sort' }, t('sortBy'));
    const csv = h('button', { type: 'button', class: 'ghost', id: 'org-csv', onclick: () => downloadCSV() }, t('downloadCSV'));
    const drawTools = () => {
      chips.setAttribute('aria-label', t('show'));
      chips.replaceChildren(...['all', 'unacked', 'overdue', 'unresolved', 'questions'].map((k) => h('button', {
        type: 'button', 'data-show': k, 'aria-pressed': String(show === k),
        onclick: () => { show = k; drawTools(); renderList(); },
      }, t('f_' + k))));
      const v = sort.value || 'time';
      sort.replaceChildren(h('option', { value: 'time' }, t('s_time')), h('option', { value: 'name' }, t('s_name')));
      sort.value = v;
      sortLabel.textContent = t('sortBy');
      csv.textContent = t('downloadCSV');
    };
    drawTools();
    sort.addEventListener('change', () => renderList());
    const keep = (n) => {
      switch (show) {
        case 'unacked': return n.state === 'NOTICE_STATE_PENDING' || n.state === 'NOTICE_STATE_DELIVERED';
        case 'overdue': return isLate(n);
        case 'unresolved': return !closed(n);
        case 'questions': return (openQuestions.get(n.org_id) || 0) > 0;
        default: return true;
      }
    };
    const qList = h('ol', { class: 'qa', id: 'open-questions' });
    const qHead = h('h2', { id: 'questions-head' }, t('openQuestions'));
    const qPanel = h('section', { class: 'panel', 'aria-labelledby': 'questions-head', id: 'questions-panel' }, qHead, qList);
    mainView(
      h('p', {}, h('a', { href: '#/' }, t('allBreaches'))),
      h('div', { class: 'head' }, title, live),
      meta, warn, promise, advisory,
      h('section', { 'aria-labelledby': 'progress-head', class: 'panel' }, h('h2', { id: 'progress-head' }, t('progress')), bars, extra, perObligation),
      qPanel,
      h('section', { 'aria-labelledby': 'orgs-head', class: 'panel' }, orgsHead,
        h('div', { class: 'toolbar' }, h('div', { class: 'filter' }, filterLabel, filter), chips,
          h('div', {}, sortLabel, sort), csv),
        count, list));
    const renderQuestions = () => {
      qPanel.classList.toggle('open-q', questions.length > 0);
      qHead.textContent = questions.length ? `${t('openQuestions')} (${num(questions.length)})` : t('openQuestions');
      if (!questions.length) { qList.replaceChildren(h('li', { class: 'muted' }, t('noOpenQuestions'))); return; }
      reconcile(qList, [...questions].sort((a, b) => Date.parse(a.asked_at) - Date.parse(b.asked_at)), (q) => q.id,
        (q) => JSON.stringify(q) + lang, (q) => answerItem(q, () => {
          questions = questions.filter((x) => x.id !== q.id);
          openQuestions.set(q.org_id, Math.max(0, (openQuestions.get(q.org_id) || 1) - 1));
          renderQuestions();
          renderList();
        }));
    };
    const downloadCSV = () => {
      const cols = ['org_id', 'org_name', 'state', 'overdue', 'delivered_at', 'deadline', 'acknowledged_at', 'acknowledged_by',
        'revision_delivered', 'revision_acknowledged', 'resolved_at', 'outcome', 'approx_subjects', 'approx_records', 'open_questions'];
      const cell = (v) => {
        let x = v == null ? '' : String(v);
        if (/^[=+\-@\t\r]/.test(x)) x = "'" + x; // never a formula in a spreadsheet
        return /[",\n\r]/.test(x) ? '"' + x.replace(/"/g, '""') + '"' : x;
      };
      const rows = [...notices.values()].filter(keep).sort(sort.value === 'name' ? byName : byTimeLeft).map((n) => [
        n.org_id, n.org_name, n.state.replace('NOTICE_STATE_', ''), isLate(n), n.delivered_at, n.deadline, n.acknowledged_at,
        n.acknowledged_by, n.revision_delivered, n.revision_acknowledged, n.resolved_at, (n.outcome?.kind || '').replace('OUTCOME_KIND_', ''),
        n.approx_subjects, n.approx_records, openQuestions.get(n.org_id) || 0]);
      const text = [cols, ...rows].map((r) => r.map(cell).join(',')).join('\r\n') + '\r\n';
      saveBlob(new Blob(['\ufeff' + text], { type: 'text/csv;charset=utf-8' }), `organisations-${id}.csv`.replace(/[^A-Za-z0-9._-]/g, '_'));
    };

    const renderHead = () => {
      if (!breach) return;
      title.textContent = breach.report?.title || breach.id;
      meta.textContent = [breach.id, breach.report?.processor, `${t('received')} ${fmtTime(breach.received_at)}`,
        t('revision', breach.latest_revision || 1)].filter(Boolean).join(' · ');
      const unknown = [...(breach.unknown_org_ids || []), ...(breach.revisions || []).flatMap((r) => r.unknown_org_ids || [])];
      warn.textContent = unknown.length ? t('unknownOrgs', unknown.join(', ')) : '';
      const p = promiseLine(breach.next_update);
      promise.replaceChildren(...(p ? [t('nextUpdate') + ': ', p] : []));
      if (session.role === 'vendor' || !session.auth) advisory.replaceChildren(...advisoryControl(breach, (b) => { breach = { ...breach, ...b }; renderHead(); }));
    };
    // Once every notice is here, overdue and the next deadline are counted
    // in the page, so they follow the clock; before, the summary's count.
    // Both are the GDPR obligation's, as the summary's (a NIS2 report's
    // are in the counts per obligation).
    const clientSide = () => {
      let late = 0;
      let next = null;
      for (const n of notices.values()) {
        if (!n.deadline || closed(n) || n.outcome?.kind) continue;
        const r = Date.parse(n.deadline) - now();
        if (r < 0) late++;
        else if (!next || Date.parse(n.deadline) < Date.parse(next)) next = n.deadline;
      }
      return { late, next };
    };
    let shown = '';
    const renderSummary = () => {
      if (!summary) return;
      const total = Number(summary.total || 0);
      const own = caughtUp && notices.size === total ? clientSide() : { late: Number(summary.overdue || 0), next: summary.next_deadline };
      shown = JSON.stringify([summary, own, lang]);
      const values = { ...summary, overdue: own.late };
      const kinds = ['delivered', 'acknowledged', 'resolved', 'overdue', ...(Number(values.withdrawn || 0) ? ['withdrawn'] : [])];
      bars.replaceChildren(...kinds.map((k) => meter(k, Number(values[k] || 0), total)));
      const parts = [];
      if (own.next) {
        parts.push(h('span', {}, `${t('nextDeadline')}: `,
          countdown({ deadline: own.next, state: 'NOTICE_STATE_DELIVERED' }), ` (${fmtTime(own.next)})`));
      }
      if ((summary.latest_revision || 1) > 1) {
        parts.push(h('span', {}, ' · ' + t('latestRevision', summary.latest_revision, num(summary.acknowledged_latest), num(total))));
      }
      extra.replaceChildren(...parts);
      // Per obligation, once some notice carries NIS2's: GDPR's and each NIS2 report's counts.
      const obs = summary.obligations || [];
      perObligation.replaceChildren(...(obs.length > 1 ? obs.map((o) => h('li', { 'data-obligation': o.kind },
        t('obProgress', t('ob_' + o.kind), num(Number(o.resolved || 0)), num(Number(o.open || 0)), num(Number(o.overdue || 0))))) : []));
    };
    let pending = false;
    const renderList = () => {
      pending = false;
      renderSummary();
      const q = filter.value.trim().toLowerCase();
      const all = [...notices.values()].sort(sort.value === 'name' ? byName : byTimeLeft);
      const shown = all.filter((n) => keep(n) && (!q || (n.org_name || '').toLowerCase().includes(q) || n.org_id.includes(q)));
      const max = 500;
      count.textContent = shown.length > max ? t('showing', num(max), num(shown.length)) : shown.length ? '' : t('none');
      reconcile(list, shown.slice(0, max), (n) => n.org_id, (n) => signature(n) + (openQuestions.get(n.org_id) || 0),
        (n) => noticeRow(n, openQuestions.get(n.org_id) || 0));
    };
    const schedule = () => { if (!pending && caughtUp) { pending = true; requestAnimationFrame(renderList); } };
    filter.addEventListener('input', renderList);
    // Each second: a notice that just passed its deadline moves up and turns red.
    onTick = () => {
      if (!caughtUp || !summary) return;
      const own = clientSide();
      const total = Number(summary.total || 0);
      if (notices.size === total && shown !== JSON.stringify([summary, own, lang])) renderList();
    };
    rerender = () => {
      for (const [el, k] of [[orgsHead, 'byTimeLeft'], [filterLabel, 'filter'], [$('#progress-head'), 'progress']]) el.textContent = t(k);
      setLive(live, live.dataset.live === 'true');
      drawTools();
      renderHead(); renderSummary(); renderList(); renderQuestions();
    };

    if (session.scope !== 'all') return viewOrgBreach(id, signal, { title, meta, list, live, setBreach: (b) => { breach = b; renderHead(); } });
    stream('/api/events/breaches/' + enc(id), {
      breach: (b) => { breach = b; caughtUp = false; notices.clear(); renderHead(); },
      summary: (s) => {
        if (breach && (s.latest_revision || 1) > (breach.latest_revision || 1)) api('/api/breaches/' + enc(id)).then((r) => { breach = r.breach; renderHead(); }, () => {});
        summary = s; renderSummary();
      },
      notice: (n) => { notices.set(n.org_id, n); schedule(); },
      caught_up: () => { caughtUp = true; schedule(); },
      live: (on) => setLive(live, on),
    }, signal);
    renderQuestions();
    stream('/api/events/questions?unanswered_only=1&breach_id=' + enc(id), {
      questions: (d) => {
        questions = d.questions || [];
        openQuestions.clear();
        for (const x of questions) openQuestions.set(x.org_id, (openQuestions.get(x.org_id) || 0) + 1);
        renderQuestions();
        schedule();
      },
      // The organisations stay usable when questions cannot be read.
      fail: (err) => qList.replaceChildren(h('li', { class: 'error', role: 'alert' }, t('failed', err.message))),
    }, signal);
  }

  // advisoryControl lets the vendor publish or withdraw the breach's
  // public advisory page (no token needed to read it once published).
  function advisoryControl(b, onChange) {
    const published = !!b.advisory_published_at;
    const url = b.advisory_path ? location.origin + b.advisory_path : '';
    const err = h('span', { class: 'error', role: 'alert' });
    const button = h('button', { type: 'button', class: 'ghost', id: published ? 'advisory-unpublish' : 'advisory-publish' },
      published ? t('unpublishAdvisory') : t('publishAdvisory'));
    button.addEventListener('click', async () => {
      button.disabled = true;
      err.textContent = '';
      try {
        const r = await api(`/api/breaches/${enc(b.id)}/advisory/${published ? 'unpublish' : 'publish'}`, { method: 'POST', body: '{}' });
        setStatus(published ? t('advisoryUnpublished') : t('advisoryPublished'));
        onChange(r.breach || {});
      } catch (ex) {
        if (ex.status === 401) return signOut(t('tokenRejected'));
        err.textContent = ex.message;
        button.disabled = false;
      }
    });
    return [h('span', { class: 'meta' }, t('advisoryTitle') + ': ',
      published ? h('a', { href: url, target: '_blank', rel: 'noopener' }, url) : t('advisoryNotPublished')), button, err];
  }

  // answerItem is one unanswered question with its age, and the vendor's
  // answer form.
  function answerItem(q, onAnswered) {
    const key = q.id.replace(/[^A-Za-z0-9_-]/g, '_');
    const text = h('textarea', { rows: 3, maxlength: 4000, required: true });
    const share = h('input', { type: 'checkbox', id: 'share-' + key, name: 'share_with_all', class: 'check' });
    const form = h('form', { class: 'answer-form', novalidate: true, 'data-question-id': q.id },
      field('answer-' + key, 'text', t('answerLabel'), text),
      h('div', { class: 'checkline' }, share, h('label', { for: share.id, class: 'inline' }, t('shareWithAll'))),
      h('button', { type: 'submit' }, t('sendAnswer')),
      h('p', { class: 'error form-error', role: 'alert', tabindex: '-1' }));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      if (!text.value.trim()) { text.focus(); return; }
      submitForm(form, `/api/questions/${q.id.split('/').map(enc).join('/')}/answer`, { text: text.value.trim(), share_with_all: share.checked },
        () => { setStatus(t('answered')); onAnswered(); });
    });
    return h('li', { class: 'question', 'data-question-id': q.id, 'data-org-id': q.org_id },
      h('p', { class: 'q' }, h('a', { href: `#/notice/${enc(q.breach_id)}/${enc(q.org_id)}` }, q.org_name || q.org_id), ' · ',
        h('span', { class: 'age', 'data-asked-at': q.asked_at }, t('askedAgo', fmtAge(now() - Date.parse(q.asked_at)))), h('br'), q.text),
      form);
  }

  // A controller sees the breach as redacted for it, and its own notice.
  function viewOrgBreach(id, signal, v) {
    const main = $('#main');
    main.replaceChildren(
      h('p', {}, h('a', { href: '#/' }, t('back'))),
      h('div', { class: 'head' }, v.title, v.live), v.meta,
      h('ul', { class: 'cards', id: 'notice-cards' }));
    api('/api/breaches/' + enc(id)).then((r) => v.setBreach(r.breach), (err) => fail(err, {}));
    const titles = new Map();
    orgNotices(signal, $('#notice-cards'), v.live, titles, id);
  }

  function canAck(n) {
    return session.acknowledge && (n.state === 'NOTICE_STATE_DELIVERED' || n.state === 'NOTICE_STATE_ACKNOWLEDGED') &&
      (n.revision_acknowledged || 0) < (n.revision_delivered || 0);
  }

  function ackForm(n, onDone) {
    const key = n.id.replace(/[^A-Za-z0-9_-]/g, '_');
    const by = h('input', { id: 'by-' + key, name: 'acknowledged_by', autocomplete: 'name', required: true, maxlength: 200,
      value: sessionStorage.getItem(store.ackBy) || '' });
    const note = h('input', { id: 'note-' + key, name: 'note', autocomplete: 'off', maxlength: 2000 });
    const err = h('p', { class: 'error', role: 'alert' });
    const rev = n.revision_delivered || 1;
    const button = h('button', { type: 'submit', class: 'ack' }, rev > 1 ? t('ackRevision', rev) : t('ackButton'));
    const form = h('form', { class: 'ack-form', 'data-notice-id': n.id },
      h('p', { class: 'muted small' }, t('ackHelp')),
      h('div', { class: 'fields' },
        h('div', {}, h('label', { for: by.id }, t('ackBy')), by),
        h('div', {}, h('label', { for: note.id }, t('ackNote')), note)),
      button, err);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      if (!by.value.trim()) { by.focus(); return; }
      button.disabled = true;
      err.textContent = '';
      try {
        sessionStorage.setItem(store.ackBy, by.value.trim());
        const r = await api(`/api/notices/${enc(n.breach_id)}/${enc(n.org_id)}/acknowledge`, {
          method: 'POST', body: JSON.stringify({ acknowledged_by: by.value.trim(), note: note.value.trim(), revision: rev }),
        });
        setStatus(t('ackDone'));
        onDone(r.notice);
      } catch (ex) {
        if (ex.status === 401) return signOut(t('tokenRejected'));
        err.textContent = ex.message;
        button.disabled = false;
      }
    });
    return form;
  }

  function ackLine(n) {
    if (!n.acknowledged_at) return null;
    return h('p', { class: 'acked' }, t('acked', n.acknowledged_by, fmtTime(n.acknowledged_at)),
      n.revision_acknowledged ? ` · ${t('revision', n.revision_acknowledged)}` : '');
  }

  function noticeCard(n, breachTitle, onAck) {
    return h('li', { class: 'card notice' + (isLate(n) ? ' late' : ''), 'data-notice-id': n.id, 'data-state': n.state },
      h('h2', {}, h('a', { href: `#/notice/${enc(n.breach_id)}/${enc(n.org_id)}` }, breachTitle || n.breach_id)),
      h('p', { class: 'meta' }, [n.breach_id, n.org_name, t('revision', n.revision_delivered || 1),
        n.delivered_at ? `${t('deliveredAt')} ${fmtTime(n.delivered_at)}` : ''].filter(Boolean).join(' · ')),
      h('div', { class: 'row' }, stateBadge(n), countdown(n), nearestObligation(n)
        ? h('span', { class: 'deadline', 'data-obligation': nearestObligation(n).kind },
          t('obNextDeadline', t('ob_' + nearestObligation(n).kind), fmtTime(nearestObligation(n).deadline)))
        : n.deadline ? h('span', { class: 'deadline' }, `${t('deadline')} ${fmtTime(n.deadline)}`) : null),
      ackLine(n),
      canAck(n) ? ackForm(n, onAck) : null);
  }

  // orgNotices keeps list showing the caller's notices (of one breach, if
  // breachID is set), live, by time left.
  // A deployment shared by several processors: filter, if set, is the
  // processor select of the inbox, shown once notices of more than one
  // processor are there; it keeps the notices of the processor chosen.
  function orgNotices(signal, list, live, titles, breachID, filter) {
    let notices = [];
    const empty = h('p', { class: 'empty', hidden: true }, t('noNotices'));
    list.after(empty);
    const render = () => {
      if (filter) syncProcessors(filter, notices);
      const want = filter?.value || 'all';
      const shown = want === 'all' ? notices : notices.filter((n) => (n.processor_id || '_default') === want);
      empty.hidden = shown.length > 0;
      shown.sort(byTimeLeft);
      const onAck = (updated) => { notices = notices.map((x) => (x.id === updated.id ? updated : x)); render(); };
      reconcile(list, shown, (n) => n.id, (n) => signature(n) + (titles.get(n.breach_id) || ''),
        (n) => noticeCard(n, titles.get(n.breach_id), onAck));
      if (notices[0]?.org_name) updateWho(notices[0].org_name);
    };
    filter?.addEventListener('change', render);
    const prev = rerender;
    rerender = () => { prev?.(); render(); };
    stream('/api/events/notices' + (breachID ? '?breach_id=' + enc(breachID) : ''), {
      notices: (d) => { notices = d.notices; render(); },
      // One notice as it changed: its row replaced, or added.
      notice_changed: (d) => {
        const i = notices.findIndex((x) => x.id === d.notice.id);
        notices = i < 0 ? [...notices, d.notice] : notices.map((x, j) => (j === i ? d.notice : x));
        render();
      },
      live: (on) => setLive(live, on),
    }, signal);
    return render;
  }

  // syncProcessors keeps the options of the processor select: every
  // processor with a notice here ('_default' for the default processor:
  // no registered processor id has an underscore), shown once there are
  // two.
  function syncProcessors(sel, notices) {
    const ids = [...new Set(notices.map((n) => n.processor_id || '_default'))].sort();
    const want = ['all', ...ids];
    const label = (id) => (id === 'all' ? t('allProcessors') : (processorNames.get(id) || (id === '_default' ? t('fromProcessor') : id)));
    // Rebuilt when the processors or their names (which come with the
    // breaches, maybe after the notices) change.
    if ([...sel.options].map((o) => o.value + '=' + o.textContent).join('\n') !== want.map((id) => id + '=' + label(id)).join('\n')) {
      const keep = sel.value || 'all';
      sel.replaceChildren(...want.map((id) => h('option', { value: id }, label(id))));
      sel.value = want.includes(keep) ? keep : 'all';
    }
    sel.hidden = ids.length < 2 && sel.value === 'all';
  }

  // processorNames are the processors' names as their breaches give them.
  const processorNames = new Map();

  function viewOrgHome(signal) {
    const live = liveBadge();
    const list = h('ul', { class: 'cards', id: 'notice-cards' });
    const heading = h('h1', {}, t('inbox'));
    const help = h('p', { class: 'muted' }, t('unresolvedFirst'));
    const filter = h('select', { id: 'processor-filter', 'aria-label': t('fromProcessor'), hidden: true });
    mainView(h('div', { class: 'head' }, heading, live), help, filter, list);
    const titles = new Map();
    rerender = () => { heading.textContent = t('inbox'); help.textContent = t('unresolvedFirst'); };
    const render = orgNotices(signal, list, live, titles, undefined, filter);
    // Breach titles for the cards (the list is redacted for the caller).
    stream('/api/events/breaches', {
      breaches: (d) => {
        for (const b of d.breaches) {
          titles.set(b.id, b.report?.title || b.id);
          if (b.report?.processor) processorNames.set(b.processor_id || '_default', b.report.processor);
        }
        render();
      },
    }, signal);
  }

  // ---- the notice: the controller's whole job on one page ----

  const FACTS = ['nature', 'occurred_from', 'occurred_to', 'data_categories', 'subject_categories',
    'likely_consequences', 'measures_taken', 'measures_proposed', 'advice_to_controllers', 'contact'];
  const TIME_FIELDS = new Set(['occurred_from', 'occurred_to', 'discovered_at', 'became_aware_at', 'deadline', 'discovered_by_processor_at']);

  const empty = (v) => v == null || v === '' || (Array.isArray(v) && v.length === 0);

  // factText is a fact as one line of text, for the page and for copying.
  function factText(field, v) {
    if (empty(v)) return '';
    if (TIME_FIELDS.has(field)) return fmtTime(v);
    if (Array.isArray(v)) return v.map((x) => (typeof x === 'object' ? factText(field, x) : String(x))).join(', ');
    if (typeof v === 'object') {
      if ('email' in v || 'phone' in v || 'name' in v) return [v.name, v.email, v.phone].filter(Boolean).join(' · ');
      return Object.entries(v).filter(([, x]) => !empty(x)).map(([k, x]) => `${k}: ${factText(k, x)}`).join('; ');
    }
    return String(v);
  }

  // history of the facts: the report's, then each revision's non-empty
  // fields replacing them (as Cascade applies an update), with what each
  // replaced.
  function factHistory(b) {
    const facts = {};
    for (const k of FACTS) facts[k] = b.report?.[k];
    const revs = [];
    for (const r of [...(b.revisions || [])].sort((x, y) => x.number - y.number)) {
      const u = r.update || {};
      const changes = [];
      for (const k of FACTS) {
        if (empty(u[k]) || JSON.stringify(u[k]) === JSON.stringify(facts[k])) continue;
        changes.push({ field: k, before: facts[k], after: u[k] });
        facts[k] = u[k];
      }
      revs.push({ number: r.number, at: r.received_at, summary: u.summary || '', added: (u.add_affected || []).length > 0, changes,
        corrected: (u.correct_affected || [])[0], withdrawn: (u.withdraw || [])[0] });
    }
    return { facts, revs };
  }

  function saveBlob(blob, name) {
    const url = URL.createObjectURL(blob);
    const a = h('a', { href: url, download: name, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
    setStatus(t('downloaded', name));
  }

  async function copyText(text, what) {
    try {
      if (!navigator.clipboard) throw new Error('no clipboard');
      await navigator.clipboard.writeText(text);
    } catch {
      const ta = h('textarea', { class: 'offscreen', readonly: true }, text);
      document.body.append(ta);
      ta.select();
      const ok = document.execCommand('copy');
      ta.remove();
      if (!ok) { setStatus(t('copyFailed')); return; }
    }
    setStatus(t('copied', what));
  }

  function section(id, titleKey, ...children) {
    return h('section', { class: 'panel', id, 'aria-labelledby': id + '-head' }, h('h2', { id: id + '-head' }, t(titleKey)), ...children);
  }

  function factsPanel(b, n) {
    const { facts } = factHistory(b);
    const row = (label, value) => (empty(value) ? [] : [h('dt', {}, label), h('dd', {}, value)]);
    const list = h('dl', { class: 'details', id: 'facts' },
      ...row(t('title'), b.report?.title),
      ...row(t('processor'), b.report?.processor),
      ...row(t('discovered_at'), fmtTime(b.report?.discovered_at)),
      ...FACTS.flatMap((k) => row(t(k), factText(k, facts[k]))),
      ...row(t('nextUpdate'), promiseLine(n.next_update || b.next_update)));
    const counts = h('dl', { class: 'details', id: 'own-counts' },
      ...row(t('approxSubjects'), n.approx_subjects ? num(n.approx_subjects) : t('unknown')),
      ...row(t('approxRecords'), n.approx_records ? num(n.approx_records) : t('unknown')),
      ...row(t('processorDelay'), n.processor_delay ? t('processorDelayText', fmtDuration(parseFloat(n.processor_delay) * 1000)) : ''));
    return section('what', 'whatHappened',
      h('p', { class: 'meta' }, t('factsAsOf', b.latest_revision || 1)),
      list,
      h('p', { class: 'callback' }, t('callBack')),
      h('h3', {}, t('yourCounts')), counts);
  }

  // promiseLine is the processor's open promise of its next update, with
  // a live countdown, or null.
  function promiseLine(p) {
    if (!p?.next_update_by) return null;
    return h('span', { id: 'next-update', 'data-overdue': String(!!p.overdue) }, t('promisedBy', fmtTime(p.next_update_by)), ' ',
      countdown({ deadline: p.next_update_by, state: 'NOTICE_STATE_DELIVERED' }),
      p.kept || p.missed ? h('span', { class: 'meta' }, ' · ' + t('promiseRecord', num(p.kept || 0), num(p.missed || 0))) : null);
  }

  // subjectPanel: the draft to the organisation's own data subjects
  // (Art. 34) as a letter, plain text and an SMS, and the processor's
  // public advisory page once published.
  function subjectPanel(n, b, signal) {
    const body = h('div', { id: 'subject-body' }, h('p', { class: 'muted' }, t('loading')));
    const select = h('select', { id: 'subject-lang', name: 'subject_lang' },
      h('option', { value: 'sv' }, 'Svenska'), h('option', { value: 'en' }, 'English'));
    select.value = lang;
    const load = async () => {
      let d;
      try {
        d = await api(`/api/notices/${enc(n.breach_id)}/${enc(n.org_id)}/subject-draft?language=${enc(select.value)}`, { signal });
      } catch (err) {
        if (!signal.aborted) body.replaceChildren(h('p', { class: 'error', role: 'alert' }, err.message));
        return;
      }
      const name = (ext) => `subjects-${n.breach_id}-${n.org_id}-${select.value}.${ext}`.replace(/[^A-Za-z0-9._-]/g, '_');
      const variant = (key, text, ext, type) => h('div', { class: 'variant', 'data-variant': key },
        h('h3', {}, t(key), key === 'sms' ? h('span', { class: 'meta' }, ` (${t('chars', [...text].length)})`) : null),
        h('pre', { class: 'draft-text', lang: d.language }, text),
        h('div', { class: 'row' },
          h('button', { type: 'button', class: 'ghost copy', onclick: () => copyText(text, t(key)) }, t('copy')),
          ext ? h('button', { type: 'button', class: 'ghost', onclick: () => saveBlob(new Blob([text], { type }), name(ext)) }, t('download')) : null));
      body.replaceChildren(
        variant('letter', d.markdown || '', 'md', 'text/markdown;charset=utf-8'),
        variant('plainText', d.plain_text || '', 'txt', 'text/plain;charset=utf-8'),
        variant('sms', d.sms || '', null));
    };
    select.addEventListener('change', load);
    load();
    const url = b?.advisory_published_at && b.advisory_path ? location.origin + b.advisory_path : '';
    return section('subjects', 'subjectsTitle',
      h('p', { class: 'muted small' }, t('subjectsHelp')),
      url ? h('p', { class: 'callback', id: 'advisory-link' }, t('advisoryPublished'), ' ', h('a', { href: url, rel: 'noopener', target: '_blank' }, url),
        ' ', h('button', { type: 'button', class: 'ghost copy', onclick: () => copyText(url, t('advisoryTitle')) }, t('copy'))) : null,
      h('div', { class: 'row' }, h('label', { for: 'subject-lang', class: 'inline' }, t('draftLang')), select),
      body);
  }

  function changesPanel(b) {
    const { revs } = factHistory(b);
    const items = revs.map((r) => h('li', { 'data-revision': r.number },
      h('h3', {}, t('revisionAt', r.number, fmtTime(r.at))),
      r.summary ? h('p', { class: 'summary' }, r.summary) : null,
      r.added ? h('p', { class: 'meta' }, t('youWereAdded')) : null,
      r.corrected ? h('p', { class: 'meta', 'data-corrected': 'true' }, t('yourCountsCorrected',
        r.corrected.approx_subjects ? num(r.corrected.approx_subjects) : t('unknown'), r.corrected.approx_records ? num(r.corrected.approx_records) : t('unknown')),
        r.corrected.status && r.corrected.status !== 'AFFECTED_STATUS_CONFIRMED' ? ' · ' + t('as_' + r.corrected.status) : '') : null,
      r.withdrawn ? h('p', { class: 'warn', 'data-withdrawn': 'true' }, t('youWereWithdrawn', r.withdrawn.statement || '')) : null,
      r.changes.length ? h('table', { class: 'diff' },
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('field')), h('th', { scope: 'col' }, t('before')), h('th', { scope: 'col' }, t('after')))),
        h('tbody', {}, r.changes.map((c) => h('tr', { 'data-field': c.field },
          h('th', { scope: 'row' }, t(c.field)),
          h('td', { class: 'before' }, h('del', {}, factText(c.field, c.before) || '—')),
          h('td', { class: 'after' }, h('ins', {}, factText(c.field, c.after))))))) : null));
    return section('changes', 'changes', items.length ? h('ol', { class: 'revisions' }, items) : h('p', { class: 'muted' }, t('noChanges')));
  }

  // The draft's JSON fields shown one by one, in the order of the
  // authority's form, each with a copy button.
  const DRAFT_FIELDS = [
    ['controller', (d) => `${d.controller?.name || ''} (${d.controller?.org_id || ''})`],
    ['authority', (d) => d.authority], ['notification_type', (d) => d.notification_type],
    ['processor', (d) => [d.processor?.name, factText('contact', d.processor?.contact)].filter(Boolean).join(' · ')],
    ['became_aware_at', (d) => fmtTime(d.became_aware_at)], ['deadline', (d) => fmtTime(d.deadline)],
    ['processor_delay', (d) => (goDuration(d.processor_delay) != null ? fmtDuration(goDuration(d.processor_delay)) : d.processor_delay)], ['title', (d) => d.breach?.title], ['nature', (d) => d.breach?.nature],
    ['occurred_from', (d) => fmtTime(d.breach?.occurred_from)], ['occurred_to', (d) => fmtTime(d.breach?.occurred_to)],
    ['discovered_by_processor_at', (d) => fmtTime(d.breach?.discovered_by_processor_at)],
    ['updates', (d) => (d.breach?.updates || []).map((u) => `${t('revision', u.revision)} (${fmtTime(u.at)}): ${u.summary}`).join('\n')],
    ['data_categories', (d) => (d.data_categories || []).join(', ')], ['subject_categories', (d) => (d.subject_categories || []).join(', ')],
    ['approx_subjects', (d) => (d.approx_subjects ? String(d.approx_subjects) : '')], ['approx_records', (d) => (d.approx_records ? String(d.approx_records) : '')],
    ['likely_consequences', (d) => d.likely_consequences], ['measures_taken_by_processor', (d) => d.measures_taken_by_processor],
    ['measures_proposed_by_processor', (d) => d.measures_proposed_by_processor], ['advice_to_controllers', (d) => d.advice_to_controllers],
    ['dpo_contact', (d) => d.dpo_contact], ['delay_reason', (d) => d.delay_reason],
  ];

  function draftPanel(n, signal) {
    const body = h('div', { id: 'draft-body' }, h('p', { class: 'muted' }, t('loading')));
    const select = h('select', { id: 'draft-lang', name: 'draft_lang' },
      h('option', { value: 'sv' }, 'Svenska'), h('option', { value: 'en' }, 'English'));
    select.value = lang;
    let draft = null;
    const base = `/api/notices/${enc(n.breach_id)}/${enc(n.org_id)}`;
    const file = (ext) => `draft-${n.breach_id}-${n.org_id}-${select.value}.${ext}`.replace(/[^A-Za-z0-9._-]/g, '_');
    const mdButton = h('button', { type: 'button', class: 'ghost', id: 'draft-md', disabled: true,
      onclick: () => saveBlob(new Blob([draft.markdown], { type: 'text/markdown;charset=utf-8' }), file('md')) }, t('downloadMd'));
    const jsonButton = h('button', { type: 'button', class: 'ghost', id: 'draft-json', disabled: true,
      onclick: () => saveBlob(new Blob([JSON.stringify(draft.fields, null, 2) + '\n'], { type: 'application/json' }), file('json')) }, t('downloadJSON'));
    const load = async () => {
      try {
        draft = await api(`${base}/draft?language=${enc(select.value)}`, { signal });
      } catch (err) {
        if (signal.aborted) return;
        body.replaceChildren(h('p', { class: 'error', role: 'alert' }, err.message));
        return;
      }
      mdButton.disabled = jsonButton.disabled = false;
      const d = draft.fields || {};
      // Labels and coded values in the draft's language, as they go into
      // the authority's form; the buttons in the page's.
      const dl = draft.language === 'sv' ? 'sv' : 'en';
      const label = (k) => tIn(dl, 'd_' + k);
      const rows = DRAFT_FIELDS.map(([k, get]) => [k, k === 'notification_type' ? tIn(dl, 'nt_' + d.notification_type) : get(d) || ''])
        .filter(([, v]) => v);
      const todo = (d.fields_to_complete || []).map((c) => tIn(dl, 'fc_' + c));
      body.replaceChildren(
        h('dl', { class: 'details draft', lang: dl },
          rows.flatMap(([k, v]) => [
            h('dt', {}, label(k)),
            h('dd', { 'data-field': k }, h('span', { class: 'value' }, v),
              h('button', { type: 'button', class: 'ghost copy', 'aria-label': `${t('copy')}: ${label(k)}`,
                onclick: () => copyText(v, label(k)) }, t('copy')))])),
        todo.length ? h('div', { class: 'warn', id: 'to-complete', lang: dl }, `${tIn(dl, 'toComplete')}: ${todo.join(', ')}`) : null);
    };
    select.addEventListener('change', load);
    load();
    return section('draft', 'draftTitle',
      h('p', { class: 'muted small' }, t('draftHelp')),
      h('div', { class: 'row' }, h('label', { for: 'draft-lang', class: 'inline' }, t('draftLang')), select, mdButton, jsonButton),
      body);
  }

  // field builds a labelled input; its error line shows the API's
  // violation for it.
  function field(form, name, label, input, help) {
    input.id = `${form}-${name}`;
    input.name = name;
    const err = h('p', { class: 'error field-error', id: `${input.id}-error` });
    const hint = help ? h('p', { class: 'muted small', id: `${input.id}-help` }, help) : null;
    input.setAttribute('aria-describedby', [hint ? hint.id : '', err.id].filter(Boolean).join(' '));
    return h('div', { class: 'field', 'data-field': name }, h('label', { for: input.id }, label), input, hint, err);
  }

  const toLocalInput = (ms) => {
    const d = new Date(ms);
    const pad = (x) => String(x).padStart(2, '0');
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
  };
  const fromLocalInput = (v) => (v ? new Date(v).toISOString() : undefined);

  // submitForm posts body and shows the API's answer in the form: its
  // message, and each field violation under its field.
  async function submitForm(form, path, body, done) {
    const button = form.querySelector('button[type=submit]');
    const err = form.querySelector('.form-error');
    for (const el of form.querySelectorAll('.field-error')) el.textContent = '';
    for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
    err.textContent = '';
    button.disabled = true;
    try {
      const r = await api(path, { method: 'POST', body: JSON.stringify(body) });
      done(r);
    } catch (ex) {
      if (ex.status === 401) return signOut(t('tokenRejected'));
      let marked = false;
      for (const v of ex.violations || []) {
        const f = form.querySelector(`[data-field="${CSS.escape(v.field)}"]`);
        if (!f) continue;
        f.querySelector('.field-error').textContent = v.description;
        f.querySelector('input, textarea, select')?.setAttribute('aria-invalid', 'true');
        marked = true;
      }
      // Each violation is shown at its field; the message names them all.
      err.textContent = marked ? t('fixFields') : ex.message;
      (form.querySelector('[aria-invalid]') || err).focus?.();
      button.disabled = false;
    }
  }

  const canRecord = (n) => session.acknowledge && n.state !== 'NOTICE_STATE_PENDING' && n.state !== 'NOTICE_STATE_UNSPECIFIED';
  const recordedBy = () => sessionStorage.getItem(store.ackBy) || session.label || '';
  const rememberBy = (v) => sessionStorage.setItem(store.ackBy, v.trim());

  function outcomeText(o) {
    if (o.kind === 'OUTCOME_KIND_REPORTED_TO_AUTHORITY') {
      return t('reportedOutcome', o.authority, o.reference, fmtTime(o.reported_at)) + (o.late ? ` (${t('lateReport')}: ${o.delay_reason})` : '');
    }
    return t('notReportableOutcome', o.justification || '');
  }

  function outcomePanel(n, onDone) {
    const base = `/api/notices/${enc(n.breach_id)}/${enc(n.org_id)}`;
    if (n.outcome?.kind) {
      return section('outcome', 'outcomeTitle', h('p', { class: 'acked', id: 'outcome-recorded', 'data-kind': n.outcome.kind }, outcomeText(n.outcome)),
        h('p', { class: 'meta' }, t('acked', n.outcome.recorded_by, fmtTime(n.outcome.recorded_at))));
    }
    if (!canRecord(n)) return null;
    const deadline = n.deadline ? Date.parse(n.deadline) : null;
    // Reported to the authority.
    const by1 = h('input', { autocomplete: 'name', maxlength: 200, required: true, value: recordedBy() });
    const authority = h('input', { autocomplete: 'off', maxlength: 200, required: true, value: 'IMY' });
    const reference = h('input', { autocomplete: 'off', maxlength: 200, required: true });
    const reportedAt = h('input', { type: 'datetime-local', required: true, value: toLocalInput(now()) });
    const reason = h('textarea', { rows: 3, maxlength: 20000 });
    const reasonHelp = () => {
      const at = Date.parse(fromLocalInput(reportedAt.value) || '');
      const late = deadline != null && at > deadline;
      const f = reason.closest('.field');
      f?.classList.toggle('required', late);
      const hint = f?.querySelector('.muted');
      if (hint) hint.textContent = late ? t('delayReasonHelp') : t('delayReasonOptional');
    };
    reportedAt.addEventListener('input', reasonHelp);
    const report = h('form', { class: 'outcome-form', id: 'report-form', novalidate: true },
      h('div', { class: 'fields' },
        field('report', 'authority', t('authority'), authority),
        field('report', 'reference', t('reference'), reference),
        field('report', 'reported_at', t('reportedAt'), reportedAt),
        field('report', 'recorded_by', t('recordedBy'), by1)),
      field('report', 'delay_reason', t('delayReason'), reason, t('delayReasonOptional')),
      h('button', { type: 'submit' }, t('recordReport')),
      h('p', { class: 'error form-error', role: 'alert', tabindex: '-1' }));
    report.addEventListener('submit', (e) => {
      e.preventDefault();
      rememberBy(by1.value);
      submitForm(report, base + '/authority-report', {
        authority: authority.value.trim(), reference: reference.value.trim(), reported_at: fromLocalInput(reportedAt.value),
        delay_reason: reason.value.trim(), recorded_by: by1.value.trim(),
      }, (r) => { setStatus(t('outcomeRecorded')); onDone(r.notice); });
    });
    // Not reportable.
    const by2 = h('input', { autocomplete: 'name', maxlength: 200, required: true, value: recordedBy() });
    const justification = h('textarea', { rows: 3, maxlength: 20000, required: true });
    const notReportable = h('form', { class: 'outcome-form', id: 'not-reportable-form', novalidate: true },
      h('p', { class: 'muted small' }, t('notReportableHelp')),
      field('notrep', 'justification', t('justification'), justification),
      field('notrep', 'recorded_by', t('recordedBy'), by2),
      h('button', { type: 'submit' }, t('recordNotReportable')),
      h('p', { class: 'error form-error', role: 'alert', tabindex: '-1' }));
    notReportable.addEventListener('submit', (e) => {
      e.preventDefault();
      rememberBy(by2.value);
      submitForm(notReportable, base + '/not-reportable', { justification: justification.value.trim(), recorded_by: by2.value.trim() },
        (r) => { setStatus(t('outcomeRecorded')); onDone(r.notice); });
    });
    const panel = section('outcome', 'outcomeTitle', h('p', { class: 'muted small' }, t(n.obligations?.length > 1 ? 'outcomeHelpNIS2' : 'outcomeHelp')),
      h('details', { open: true, id: 'report-details' }, h('summary', {}, t('reportedTitle')), report),
      h('details', { id: 'not-reportable-details' }, h('summary', {}, t('notReportableTitle')), notReportable));
    setTimeout(reasonHelp);
    return panel;
  }

  // obligationsPanel shows a notice's NIS2 reports, each with its clock
  // and outcome, and the forms to record each (reported, or not
  // applicable); the early warning has its draft. Nothing for a notice
  // under GDPR alone.
  function obligationsPanel(n, onDone, signal) {
    const obs = (n.obligations || []).filter((o) => o.kind !== 'OBLIGATION_KIND_GDPR_ART33');
    if (!obs.length) return null;
    const base = `/api/notices/${enc(n.breach_id)}/${enc(n.org_id)}`;
    const items = obs.map((o) => {
      const slug = o.kind.replace('OBLIGATION_KIND_', '').toLowerCase();
      const head = h('h3', {}, t('ob_' + o.kind));
      const clock = h('p', { class: 'row' }, `${t('deadline')} ${o.deadline ? fmtTime(o.deadline) : '—'} `,
        o.outcome?.kind ? null : countdown({ deadline: o.deadline, state: n.state }),
        o.overdue ? h('span', { class: 'badge overdue' }, t('overdueOne')) : null);
      const li = h('li', { class: 'obligation' + (o.overdue ? ' late' : ''), 'data-obligation': o.kind }, head, clock);
      if (o.outcome?.kind) {
        const text = o.outcome.kind === 'OUTCOME_KIND_REPORTED_TO_AUTHORITY' ? outcomeText(o.outcome) : t('notApplicableOutcome', o.outcome.justification || '');
        li.append(h('p', { class: 'acked', 'data-kind': o.outcome.kind }, text),
          h('p', { class: 'meta' }, t('acked', o.outcome.recorded_by, fmtTime(o.outcome.recorded_at))));
        return li;
      }
      if (!canRecord(n)) return li;
      const by1 = h('input', { autocomplete: 'name', maxlength: 200, required: true, value: recordedBy() });
      const authority = h('input', { autocomplete: 'off', maxlength: 200, required: true, value: 'CERT-SE' });
      const reference = h('input', { autocomplete: 'off', maxlength: 200, required: true });
      const reportedAt = h('input', { type: 'datetime-local', required: true, value: toLocalInput(now()) });
      const reason = h('textarea', { rows: 2, maxlength: 20000 });
      const fid = 'ob-' + slug;
      const report = h('form', { class: 'outcome-form', id: fid + '-report', novalidate: true },
        h('div', { class: 'fields' },
          field(fid, 'authority', t('authority'), authority),
          field(fid, 'reference', t('reference'), reference),
          field(fid, 'reported_at', t('reportedAt'), reportedAt),
          field(fid, 'recorded_by', t('recordedBy'), by1)),
        field(fid, 'delay_reason', t('delayReason'), reason, t('delayReasonOptional')),
        h('button', { type: 'submit' }, t('recordObligationReport')),
        h('p', { class: 'error form-error', role: 'alert', tabindex: '-1' }));
      report.addEventListener('submit', (e) => {
        e.preventDefault();
        rememberBy(by1.value);
        submitForm(report, base + '/authority-report', {
          obligation: o.kind, authority: authority.value.trim(), reference: reference.value.trim(),
          reported_at: fromLocalInput(reportedAt.value), delay_reason: reason.value.trim(), recorded_by: by1.value.trim(),
        }, (r) => { setStatus(t('outcomeRecorded')); onDone(r.notice); });
      });
      const by2 = h('input', { autocomplete: 'name', maxlength: 200, required: true, value: recordedBy() });
      const justification = h('textarea', { rows: 2, maxlength: 20000, required: true });
      const na = h('form', { class: 'outcome-form', id: fid + '-not-applicable', novalidate: true },
        field(fid + '-na', 'justification', t('justification'), justification),
        field(fid + '-na', 'recorded_by', t('recordedBy'), by2),
        h('button', { type: 'submit' }, t('recordNotApplicable')),
        h('p', { class: 'error form-error', role: 'alert', tabindex: '-1' }));
      na.addEventListener('submit', (e) => {
        e.preventDefault();
        rememberBy(by2.value);
        submitForm(na, base + '/not-reportable', { obligation: o.kind, justification: justification.value.trim(), recorded_by: by2.value.trim() },
          (r) => { setStatus(t('outcomeRecorded')); onDone(r.notice); });
      });
      li.append(h('details', { open: o.overdue || o === nearestObligation(n) }, h('summary', {}, t('reportedTitle')), report),
        h('details', {}, h('summary', {}, t('notApplicableTitle')), na));
      if (o.kind === 'OBLIGATION_KIND_NIS2_EARLY_WARNING') {
        const out = h('pre', { class: 'draft-md', id: 'early-warning-draft', hidden: true });
        const button = h('button', { type: 'button', class: 'ghost', id: 'early-warning-draft-button', onclick: async () => {
          try {
            const d = await api(`${base}/draft?obligation=nis2_early_warning&language=${enc(lang)}`, { signal });
            out.textContent = d.markdown;
          } catch (err) {
            out.textContent = err.message;
          }
          out.hidden = false;
        } }, t('draftEarlyWarning'));
        li.append(h('p', {}, button), out);
      }
      return li;
    });
    return section('obligations', 'obligationsTitle', h('p', { class: 'muted small' }, t('obligationsHelp')),
      h('ul', { class: 'plain obligations', id: 'obligations' }, ...items));
  }

  function art34Panel(n, onDone) {
    const sc = n.subject_communication;
    if (sc?.kind) {
      const what = [t('sc_' + sc.kind), sc.how, sc.communicated_at ? fmtTime(sc.communicated_at) : '',
        sc.exemption ? t('ex_' + sc.exemption.split('_')[2]) : '', sc.public_communication, sc.justification].filter(Boolean).join(' · ');
      return section('art34', 'art34Title', h('p', { class: 'acked', id: 'art34-recorded', 'data-kind': sc.kind }, t('art34Done', what)));
    }
    if (!canRecord(n)) return null;
    const kind = h('select', {}, ['COMMUNICATED', 'NOT_REQUIRED', 'EXEMPT'].map((k) =>
      h('option', { value: 'SUBJECT_COMMUNICATION_KIND_' + k }, t('art34_' + k))));
    const at = h('input', { type: 'datetime-local', value: toLocalInput(now()) });
    const how = h('input', { autocomplete: 'off', maxlength: 200 });
    const exemption = h('select', {}, [['A_UNINTELLIGIBLE', 'A'], ['B_RISK_REMOVED', 'B'], ['C_DISPROPORTIONATE', 'C']].map(([v, k]) =>
      h('option', { value: 'ART34_EXEMPTION_' + v }, t('ex_' + k))));
    const pub = h('textarea', { rows: 2, maxlength: 20000 });
    const just = h('textarea', { rows: 2, maxlength: 20000 });
    const by = h('input', { autocomplete: 'name', maxlength: 200, required: true, value: recordedBy() });
    const fields = {
      communicated_at: field('art34', 'communicated_at', t('communicatedAt'), at),
      how: field('art34', 'how', t('how'), how),
      exemption: field('art34', 'exemption', t('exemption'), exemption),
      public_communication: field('art34', 'public_communication', t('publicCommunication'), pub),
      justification: field('art34', 'justification', t('justification'), just),
    };
    const show = () => {
      const k = kind.value.replace('SUBJECT_COMMUNICATION_KIND_', '');
      fields.communicated_at.hidden = fields.how.hidden = k !== 'COMMUNICATED';
      fields.exemption.hidden = k !== 'EXEMPT';
      fields.public_communication.hidden = !(k === 'EXEMPT' && exemption.value.endsWith('C_DISPROPORTIONATE'));
      fields.justification.hidden = k === 'COMMUNICATED';
    };
    kind.addEventListener('change', show);
    exemption.addEventListener('change', show);
    const form = h('form', { class: 'outcome-form', id: 'art34-form', novalidate: true },
      field('art34', 'kind', t('art34Kind'), kind), ...Object.values(fields), field('art34', 'recorded_by', t('recordedBy'), by),
      h('button', { type: 'submit' }, t('recordArt34')),
      h('p', { class: 'error form-error', role: 'alert', tabindex: '-1' }));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      rememberBy(by.value);
      const k = kind.value;
      const c = { kind: k };
      if (k.endsWith('COMMUNICATED')) { c.communicated_at = fromLocalInput(at.value); c.how = how.value.trim(); }
      if (k.endsWith('EXEMPT')) { c.exemption = exemption.value; c.public_communication = pub.value.trim(); }
      if (!k.endsWith('COMMUNICATED')) c.justification = just.value.trim();
      submitForm(form, `/api/notices/${enc(n.breach_id)}/${enc(n.org_id)}/subject-communication`,
        { communication: c, recorded_by: by.value.trim() }, (r) => { setStatus(t('art34Recorded')); onDone(r.notice); });
    });
    show();
    return section('art34', 'art34Title', form);
  }

  function evidencePanel(n) {
    const button = h('button', { type: 'button', id: 'evidence-download' }, t('downloadEvidence'));
    const err = h('p', { class: 'error', role: 'alert' });
    button.addEventListener('click', async () => {
      button.disabled = true;
      err.textContent = '';
      try {
        const res = await fetch('/api/evidence/' + enc(n.org_id), { headers: headers({ Accept: 'application/zip' }), cache: 'no-store' });
        if (!res.ok) throw await errorOf(res);
        const cd = res.headers.get('Content-Disposition') || '';
        const name = (/filename="?([^";]+)"?/.exec(cd) || [])[1] || `evidence-${n.org_id}.zip`;
        saveBlob(await res.blob(), name);
      } catch (ex) {
        if (ex.status === 401) return signOut(t('tokenRejected'));
        err.textContent = ex.message;
      }
      button.disabled = false;
    });
    return section('evidence', 'evidenceTitle', h('p', { class: 'muted small' }, t('evidenceHelp')), button, err);
  }

  function historyList(events) {
    return events.length ? events.map((e) => h('li', { 'data-event': e.event },
      h('time', { datetime: e.at }, fmtTime(e.at, true)),
      h('span', { class: 'event' }, t('ev_' + e.event)),
      e.actor && e.actor !== 'cascade' ? h('span', { class: 'actor' }, t('by', e.actor)) : null,
      e.principal?.display ? h('span', { class: 'principal' }, t('as', e.principal.display)) : null,
      e.detail ? h('span', { class: 'detail' }, e.detail) : null)) : [h('li', { class: 'muted' }, t('noHistory'))];
  }

  function viewNotice(breachID, orgID, signal) {
    const live = liveBadge();
    const title = h('h1', {}, orgID);
    const details = h('dl', { class: 'details', id: 'notice-details' });
    const action = h('div', { id: 'notice-action' });
    const status = h('section', { class: 'panel', id: 'status-panel' }, details, action);
    const slots = { what: h('div'), changes: h('div'), questions: h('div'), draft: h('div'), outcome: h('div'), obligations: h('div'), art34: h('div'), subjects: h('div'), evidence: h('div') };
    const history = h('ol', { class: 'history', id: 'history' });
    const histHead = h('h2', { id: 'history-head' }, t('history'));
    const backTo = session.scope === 'all' ? '#/breach/' + enc(breachID) : '#/';
    mainView(h('p', {}, h('a', { href: backTo }, t('back'))), h('div', { class: 'head' }, title, live),
      status, slots.what, slots.changes, slots.questions, slots.draft, slots.outcome, slots.obligations, slots.art34, slots.subjects, slots.evidence,
      h('section', { class: 'panel', 'aria-labelledby': 'history-head' }, histHead, history));
    let data = null;
    let drawn = {}; // what each slot was drawn from, so typing survives a refresh
    const draw = (slot, key, make) => {
      if (drawn[slot] === key) return;
      drawn[slot] = key;
      slots[slot].replaceChildren(make() || '');
    };
    const setNotice = (u) => { data = { ...data, notice: u }; render(); };
    const render = () => {
      if (!data) return;
      const n = data.notice;
      const b = data.breach;
      title.textContent = `${n.org_name || n.org_id} · ${b?.report?.title || n.breach_id}`;
      const row = (k, ...v) => [h('dt', {}, t(k)), h('dd', {}, ...v)];
      details.replaceChildren(
        ...row('notice', n.id),
        ...row('organisation', `${n.org_name || ''} (${n.org_id})`),
        ...row('state', stateBadge(n)),
        ...row('deliveredAt', fmtTime(n.delivered_at) || t('notDelivered')),
        ...row('deadline', n.deadline ? fmtTime(n.deadline) : '—', ' ', countdown(n)),
        ...(n.acknowledged_at ? row('acknowledged', ackLine(n), n.acknowledgement_note ? h('q', {}, n.acknowledgement_note) : null) : []),
        ...row('deliveries', num(n.delivery_count)),
        ...(n.affected_status && n.affected_status !== 'AFFECTED_STATUS_CONFIRMED' ? row('affectedStatus', t('as_' + n.affected_status)) : []),
        ...(n.withdrawn_at ? row('withdrawnAt', h('span', { id: 'withdrawal' }, fmtTime(n.withdrawn_at), n.withdrawal_statement ? [' · ', h('q', {}, n.withdrawal_statement)] : null)) : []),
        ...(n.resolved_at ? row('resolvedAt', fmtTime(n.resolved_at)) : []),
        ...(n.outcome?.kind ? row('outcome', t('outcome_' + n.outcome.kind)) : []),
        ...((n.escalated_to || []).length ? row('escalatedTo', h('ul', { class: 'plain', id: 'escalated-to' }, n.escalated_to.map((x) =>
          h('li', {}, [x.email, x.phone].filter(Boolean).join(' · '), ' — ', t(x.event === 'overdue' ? 'escOverdue' : 'escReminder'), ', ', fmtTime(x.sent_at))))) : []));
      status.classList.toggle('late', isLate(n));
      const keep = action.querySelector('input[name="note"]')?.value;
      action.replaceChildren(canAck(n) ? ackForm(n, setNotice) : '');
      if (keep) action.querySelector('input[name="note"]').value = keep;
      const nkey = JSON.stringify(n) + lang;
      if (b) {
        const bkey = JSON.stringify(b) + lang;
        draw('what', bkey + nkey, () => factsPanel(b, n));
        draw('changes', bkey, () => changesPanel(b));
      }
      draw('questions', JSON.stringify([data.questions, b?.shared_answers, n.state]) + lang, () => questionsPanel(n, b, data.questions, (q) => {
        data = { ...data, questions: [...(data.questions || []), q] };
        render();
      }));
      draw('draft', [n.revision_delivered, n.state, n.outcome?.kind, n.subject_communication?.kind, lang].join(), () => draftPanel(n, signal));
      draw('outcome', JSON.stringify([n.outcome, n.state, n.deadline]) + lang, () => outcomePanel(n, setNotice));
      draw('obligations', JSON.stringify([n.obligations, n.state]) + lang, () => obligationsPanel(n, setNotice, signal));
      draw('art34', JSON.stringify([n.subject_communication, n.state]) + lang, () => art34Panel(n, setNotice));
      draw('subjects', JSON.stringify([b?.advisory_published_at, b?.latest_revision, n.approx_subjects]) + lang, () => subjectPanel(n, b, signal));
      draw('evidence', lang, () => evidencePanel(n));
      history.replaceChildren(...historyList(data.events || []));
    };
    rerender = () => { histHead.textContent = t('history'); drawn = {}; render(); };
    stream(`/api/events/notices/${enc(breachID)}/${enc(orgID)}`, {
      notice: (d) => { data = d; render(); },
      // The notice as it changed, at once; the rest of the page follows in
      // the next "notice" event.
      notice_changed: (d) => { if (data && d.notice.id === data.notice.id) setNotice(d.notice); },
      live: (on) => setLive(live, on),
    }, signal);
  }

  // questionsPanel is the notice's questions and the breach's answers for
  // everyone; a controller asks from here.
  function questionsPanel(n, b, questions, onAsked) {
    const qs = questions || [];
    // The answers shared with all, except those to the organisation's own
    // questions, which it sees with the question.
    const own = new Set(qs.map((q) => q.shared_answer_id).filter(Boolean));
    const shared = (b?.shared_answers || []).filter((x) => !own.has(x.id));
    const items = qs.map((q) => h('li', { class: 'question' + (q.answer ? ' answered' : ''), 'data-question-id': q.id },
      h('p', { class: 'q' }, h('span', { class: 'meta', title: q.asked_by_display || '' },
        t('askedAt', fmtTime(q.asked_at), q.asked_by?.label || q.asked_by_display || '')), h('br'), q.text),
      q.answer ? h('p', { class: 'a' }, h('strong', {}, t('answeredAt', fmtTime(q.answered_at))),
        q.shared_with_all ? [' ', h('span', { class: 'badge' }, t('sharedBadge'))] : null, h('br'), q.answer)
        : h('p', { class: 'meta waiting' }, t('waiting', fmtAge(now() - Date.parse(q.asked_at))))));
    const sharedItems = shared.map((s) => h('li', { class: 'question shared', 'data-shared-id': s.id },
      h('p', { class: 'q' }, s.question), h('p', { class: 'a' }, h('strong', {}, fmtTime(s.shared_at)), h('br'), s.answer)));
    let form = null;
    if (session.acknowledge && session.scope !== 'all') {
      const text = h('textarea', { rows: 3, maxlength: 4000, required: true });
      form = h('form', { class: 'ask-form', id: 'ask-form', novalidate: true },
        field('ask', 'text', t('yourQuestion'), text),
        h('button', { type: 'submit' }, t('ask')),
        h('p', { class: 'error form-error', role: 'alert', tabindex: '-1' }));
      form.addEventListener('submit', (e) => {
        e.preventDefault();
        if (!text.value.trim()) { text.focus(); return; }
        submitForm(form, `/api/notices/${enc(n.breach_id)}/${enc(n.org_id)}/questions`, { text: text.value.trim() },
          (r) => { setStatus(t('asked')); onAsked(r.question); });
      });
    }
    return section('questions', 'questions',
      h('p', { class: 'muted small' }, t('askHelp')),
      items.length ? h('ol', { class: 'qa', id: 'question-list' }, items) : h('p', { class: 'muted', id: 'question-list' }, t('noQuestions')),
      form,
      sharedItems.length ? [h('h3', {}, t('sharedAnswers')), h('ol', { class: 'qa', id: 'shared-answers' }, sharedItems)] : null);
  }

  // ---- check a message (#/verify) ----
  // Works signed in or not: the signature check needs only Cascade's
  // public keys; the notice's facts come with the caller's own token.

  const verifyMax = 1 << 20;

  function viewVerify() {
    let input = null; // the dropped or chosen file, or null for the textarea
    const result = h('section', { id: 'verify-result', 'aria-live': 'polite' });
    const fileName = h('span', { class: 'verify-file', id: 'verify-file' });
    const file = h('input', { id: 'verify-input', type: 'file', class: 'verify-picker' });
    const paste = h('textarea', { id: 'verify-paste', rows: 6, spellcheck: 'false', autocomplete: 'off' });
    const err = h('p', { class: 'error', role: 'alert', id: 'verify-error' });
    const button = h('button', { type: 'submit', id: 'verify-button' }, t('verifyButton'));
    const zone = h('label', { class: 'verify-drop', for: 'verify-input', id: 'verify-drop' },
      h('span', { class: 'verify-drop-text' }, t('verifyDrop')), fileName, file);
    const choose = (f) => { input = f || null; fileName.textContent = f ? f.name : ''; if (f) paste.value = ''; };
    file.addEventListener('change', () => choose(file.files[0]));
    paste.addEventListener('input', () => { if (paste.value) { input = null; fileName.textContent = ''; file.value = ''; } });
    for (const ev of ['dragenter', 'dragover']) {
      zone.addEventListener(ev, (e) => { e.preventDefault(); zone.classList.add('over'); });
    }
    zone.addEventListener('dragleave', () => zone.classList.remove('over'));
    zone.addEventListener('drop', (e) => {
      e.preventDefault();
      zone.classList.remove('over');
      choose(e.dataTransfer.files[0]);
      if (input) form.requestSubmit();
    });
    const form = h('form', { class: 'card verify-form', id: 'verify-form', novalidate: true },
      h('p', { class: 'muted', id: 'verify-help' }, t('verifyHelp')),
      zone,
      h('label', { for: 'verify-paste' }, t('verifyPaste')), paste,
      button, err);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      err.textContent = '';
      const body = input || paste.value;
      const size = input ? input.size : new Blob([paste.value]).size;
      if (!size || (!input && !paste.value.trim())) { err.textContent = t('verifyEmpty'); return; }
      if (size > verifyMax) { err.textContent = t('verifyTooBig'); return; }
      button.disabled = true;
      setStatus(t('verifyChecking'));
      try {
        const res = await fetch('/api/verify', { method: 'POST', body, cache: 'no-store',
          headers: headers({ 'Content-Type': 'application/octet-stream' }) });
        if (!res.ok) throw await errorOf(res);
        const v = await res.json();
        rerender = () => { redraw(); showVerdict(result, v); };
        showVerdict(result, v);
        setStatus(t(v.verified ? 'genuine' : 'notGenuine'));
        result.querySelector('.verdict')?.focus();
      } catch (ex) {
        err.textContent = ex.status === 413 ? t('verifyTooBig') : t('failed', ex.message);
        setStatus('');
      } finally {
        button.disabled = false;
      }
    });
    const heading = h('h1', {}, t('verifyTitle'));
    const redraw = () => {
      heading.textContent = t('verifyTitle');
      form.querySelector('#verify-help').textContent = t('verifyHelp');
      zone.querySelector('.verify-drop-text').textContent = t('verifyDrop');
      form.querySelector('label[for="verify-paste"]').textContent = t('verifyPaste');
      button.textContent = t('verifyButton');
    };
    rerender = redraw;
    mainView(...[session ? h('p', {}, h('a', { href: '#/' }, t('back'))) : null, heading, form, result].filter(Boolean));
  }

  // showVerdict draws the answer of /api/verify: the verdict, what the
  // message claims, and beside it what Cascade holds.
  function showVerdict(el, v) {
    const ok = v.verified;
    const row = (k, ...val) => (val.some((x) => x) ? [h('dt', {}, t(k)), h('dd', {}, ...val)] : []);
    const msg = v.message || {};
    const key = v.key_id ? [v.key_id, ok && v.key_expires_at ? ` (${t('keyRetired', fmtTime(v.key_expires_at))})` : ''] : [];
    const claimed = h('section', { class: 'panel verify-claimed', id: 'verify-claimed' },
      h('h2', {}, t('claimed')),
      h('p', { class: 'muted small' }, ok ? t('claimedNote') : t('unverifiedNote')),
      h('dl', { class: 'details' },
        ...row('organisation', [msg.org_name, v.org_id].filter(Boolean).join(' · ')),
        ...row('notice', v.notice_id),
        ...row('title', msg.title || msg.breach?.title),
        ...row('event', v.event),
        ...row('revision', msg.revision ? String(msg.revision) : ''),
        ...row('sentAt', fmtTime(msg.sent_at)),
        ...row('deadline', fmtTime(msg.deadline)),
        ...row('keyId', ...key)));
    let held;
    const n = v.notice?.notice;
    const b = v.breach?.breach;
    if (n) {
      held = h('section', { class: 'panel verify-held', id: 'verify-held' },
        h('h2', {}, t('held')),
        h('dl', { class: 'details' },
          ...row('organisation', `${n.org_name || ''} (${n.org_id})`),
          ...row('notice', n.id),
          ...row('title', b?.report?.title),
          ...row('state', stateBadge(n)),
          ...row('deliveredAt', fmtTime(n.delivered_at) || t('notDelivered')),
          ...row('deadline', n.deadline ? fmtTime(n.deadline) : '—', ' ', countdown(n)),
          ...row('revision', b?.latest_revision ? String(b.latest_revision) : ''),
          ...(n.acknowledged_at ? row('acknowledged', ackLine(n)) : [])),
        session ? h('p', {}, h('a', { href: `#/notice/${enc(n.breach_id)}/${enc(n.org_id)}` }, t('openNotice'))) : null);
    } else {
      held = h('section', { class: 'panel verify-held', id: 'verify-held' },
        h('h2', {}, t('held')),
        h('p', { class: 'muted', id: 'verify-facts-note' }, t('fn_' + (v.facts_note || 'unavailable'), v.org_id || '')),
        v.facts_note === 'sign_in' ? h('p', {}, h('a', { href: '#/' }, t('signIn'))) : null);
    }
    el.replaceChildren(
      h('div', { class: 'verdict ' + (ok ? 'genuine' : 'forged'), id: 'verdict', tabindex: '-1', 'data-verified': String(ok) },
        h('p', { class: 'verdict-head' }, ok ? '✔ ' + t('genuine') : '✘ ' + t('notGenuine')),
        ok ? null : h('p', { class: 'verdict-reason' }, t('vr_' + v.reason)),
        ok ? null : h('p', { class: 'verdict-advice' }, t('va_' + v.reason)),
        !ok && v.detail ? h('p', { class: 'muted small verdict-detail' }, v.detail) : null),
      h('div', { class: 'verify-columns' }, claimed, held));
  }

  // ---- routing ----

  function route() {
    viewAbort?.abort();
    viewAbort = new AbortController();
    const signal = viewAbort.signal;
    onTick = null;
    setStatus('');
    if (location.hash.startsWith('#/verify')) return viewVerify(signal);
    if (!session) return viewSignIn();
    const [kind, a, b] = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
    if (kind === 'breach' && a) return viewBreach(a, signal);
    if (kind === 'notice' && a && b) return viewNotice(a, b, signal);
    return session.scope === 'all' ? viewBreachList(signal) : viewOrgHome(signal);
  }

  async function start() {
    try {
      session = await api('/api/session');
      clockOffset = Date.parse(session.server_time) - Date.now();
      if (!session.scope) { // credentials needed
        session = null;
        updateWho();
        return route(); // the sign-in form, or the check page
      }
    } catch (err) {
      session = null;
      if (err.status === 401) {
        const had = sessionStorage.getItem(store.token);
        sessionStorage.removeItem(store.token);
        updateWho();
        return viewSignIn(had ? t('tokenRejected') : '');
      }
      updateWho();
      return showError(err);
    }
    updateWho();
    route();
  }

  document.addEventListener('DOMContentLoaded', () => {
    applyLanguage();
    $('#lang').addEventListener('click', () => {
      lang = lang === 'sv' ? 'en' : 'sv';
      localStorage.setItem(store.lang, lang);
      applyLanguage();
      rerender?.();
      tick();
    });
    $('#signout').addEventListener('click', () => signOut(''));
    window.addEventListener('hashchange', route);
    setInterval(tick, 1000);
    start();
  });
})();
