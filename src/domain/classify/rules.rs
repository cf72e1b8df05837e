//! The rules as data: one row per signal, matched against the description.

use super::text::Cue::{self, Any, Near, Negated, Question};
use crate::domain::category::Category;

pub(super) const STALE: Category = Category::StaleProfile;
pub(super) const WRONG_TYPE: Category = Category::WrongColumnType;
pub(super) const REPORT: Category = Category::FailedReport;
pub(super) const RUN: Category = Category::ProfilingFailure;
pub(super) const OTHER: Category = Category::Other;

pub(super) struct Rule {
    pub(super) category: Category,
    pub(super) weight: f64,
    pub(super) label: &'static str,
    pub(super) cue: Cue,
}

const fn rule(category: Category, weight: f64, label: &'static str, cue: Cue) -> Rule {
    Rule {
        category,
        weight,
        label,
        cue,
    }
}

const RUN_OBJECTS: &str = "profil*|run|runs|job|jobs|scan*|quer*|statement*|warehouse*|\
    cluster*|task*|refresh*|reprofil*|execution*";
const RUN_FAILS: &str = "never finish*|never complet*|fail*|error*|crash*|abort*|kill*|died|\
    dies|dying|broke*|cancel*|terminat*|exception*|timeout*|timed out|times out|timing out|\
    stuck|hang*|hung";
const REPORT_OBJECTS: &str = "report|reports|generat*|context*|button*|pdf*|export*|artifact*|\
    artefact*|download*|template*|render*|link|document*|page|pages|section*|chart*";
const REPORT_FAILS: &str = "fail*|error*|broke*|crash*|blank|empty|404*|500*|502*|503*|\
    went wrong|spin*|hang*|stuck|cant|cannot|unable|wont|timeout*|times out|timed out|garbled|\
    corrupt*|nothing happens|does nothing|not found|unavailable|greyed out|grayed out|\
    didnt complete|never complet*|not complet*";
const INFERENCE_VERBS: &str = "detected|classified|categorized|categorised|flagged|treated|\
    marked|tagged|labeled|labelled|recognized|recognised|identified|typed|inferred|interpreted|\
    parsed|profiled|thinks|think|calls|shown|shows up|showing up|comes up|came up|comes through|\
    came through|ends up";
const TYPE_WORDS: &str = "integer*|int|decimal*|numeric|number|float*|string|text|boolean*|bool|\
    flag|categor*|enum|currency|money|email*|phone*|postal*|zip*|identifier*|id|ids|uuid*|ip|\
    url|date*|timestamp*|country|name|address*|measure|percent*|json|latitude|longitude|codes|\
    quantit*";

// Telling phrases carry 3, telling words 2, weak hints 1; a negative weight records evidence
// against a category ("the run succeeded" argues against a run failure).
#[rustfmt::skip]
pub(super) const RULES: &[Rule] = &[
    rule(STALE, 3.0, "profile called out of date", Any("stale|out of date|outdated|out of sync|\
        lagging|lags|behind|frozen|unchanged|same as before|stuck at|stops at|stop at|ends in|\
        ends at|only goes up to|no longer accurate|no longer match*")),
    rule(STALE, 3.0, "profile not refreshed", Negated("current|latest|refresh*|updat*|re run*|\
        rerun*|reprofil*|re profil*|rescan*|chang*|up to date|reflect*|pick* up|sync*|move*|\
        budge*")),
    rule(STALE, 3.0, "profile shows old numbers", Near(
        "old|older|previous|outdated|yesterdays|earlier|last|prior",
        "number*|data|value*|count*|stat*|result*|snapshot*|figure*|metric*|name*|version*|\
        schema")),
    rule(STALE, 3.0, "profile still shows what changed", Any("no longer exist*|no longer there|\
        dont exist anymore|doesnt exist anymore|still think*|still appear*|still count*|\
        still treat*|still exist*|still there|still show*|still list*|still display*|\
        still includ*|still has|still have|still contain*|still see|still say*|still report*|\
        still at")),
    rule(STALE, 3.0, "profile date called out", Any("last profiled|last refreshed|last refresh|\
        last updated|last scanned|profiled on|profiled at|profile date|profiled date|as of|\
        from before|from last*|days old|weeks old|months old")),
    rule(STALE, 3.0, "columns missing from the profile", Near("column|columns", "missing|absent|\
        gone|disappeared|not listed|not shown|not showing|dont show|doesnt show|dont appear|\
        doesnt appear|not there")),
    rule(STALE, 2.0, "table changed since profiling", Any("data changed|table changed|\
        schema changed|data has changed|table has changed|changed from|converted from|altered|\
        alter table|backfill*|reload*|etl|ingest*|dropped|renamed|new column*|added column*|\
        schema change*|migration|migrated|truncated|deleted|removed|nightly load|daily load")),
    rule(STALE, 2.0, "table changed after the profile", Near("we|was|were|been|our team",
        "fixed|load*|added|chang*|updat*|inserted|cleaned|corrected|normali*|dedup*|merged|\
        replaced|reprocessed|recomputed")),
    rule(STALE, 2.0, "profile disagrees with the table", Any("but we have|even though we have|\
        off by|compared to|compared with|select count|but the table|but there are|but it has|\
        but it now|but its now|now has|has now|currently has|currently contains|has grown|grown|\
        newer|more rows|new rows|new data|reality|actual count|actual row*|table has|\
        table now has|table actually has|way lower|way higher|way off|lower than|higher than|\
        doesnt match|does not match|dont match|mismatch*")),
    rule(STALE, 2.0, "refresh or freshness mentioned", Any("refresh*|reprofile|re profile|\
        re run*|rerun*|freshness|up to date")),
    rule(STALE, 1.0, "profile display contradicted", Near("shows|says|lists|displays|claims",
        "but|whereas|yet|compared to|versus|vs")),
    rule(STALE, 1.0, "time since the profile", Any("ago|since|yesterday|today|this week|\
        last week|last month|weeks|months|days|anymore|monday|tuesday|wednesday|thursday|friday|\
        saturday|sunday|weekend")),

    rule(WRONG_TYPE, 3.0, "type inference called wrong", Any("wrong type|incorrect type|\
        misclassif*|misdetect*|mistyped|mis typed|misidentif*|misinterpret*|wrongly typed|\
        wrongly detected")),
    rule(WRONG_TYPE, 3.0, "type called wrong", Near(
        "type|types|typed|classified|classification|inferred|detected",
        "wrong*|incorrect*|mistake*|bogus|nonsense")),
    rule(WRONG_TYPE, 3.0, "analyst names the right type", Near("should be|those are|these are|\
        they are|its a|its an|it is a|its actually|is actually|is really|its really|instead of|\
        rather than|not a|isnt a|supposed to be|meant to be", TYPE_WORDS)),
    rule(WRONG_TYPE, 2.0, "type inference discussed", Any("semantic type*|column type*|\
        data type*|type detection|type inference|inferred type*|detected type*")),
    rule(WRONG_TYPE, 2.0, "column read as another type", Near(INFERENCE_VERBS, TYPE_WORDS)),
    rule(WRONG_TYPE, 2.0, "two types contrasted", Near(TYPE_WORDS, TYPE_WORDS)),
    rule(WRONG_TYPE, 1.0, "semantic type named", Any("integer*|decimal*|numeric|float*|boolean*|\
        categorical|currency|email*|postal code*|zip code*|identifier*|uuid*|ip address*|\
        timestamp*|string|free text|country code*|person name*|phone number*")),
    rule(WRONG_TYPE, 1.0, "statistic that only fits another type", Any("mean|stddev|std dev|\
        average*|histogram*|leading zero*|aggregat*|summed|sum of|distinct values|cardinality")),

    rule(REPORT, 3.0, "report output failing", Near(REPORT_OBJECTS, REPORT_FAILS)),
    rule(REPORT, 3.0, "report page visibly broken", Any("blank page|blank screen|white screen|\
        error banner|went wrong|empty section*|sections are empty|half the sections|spinner|\
        spins forever|wont load|doesnt load|does not load|never loads|not loading|wont open|\
        doesnt open|fails to load|404*|502*|503*|bad gateway|server error|broken link|dead link")),
    rule(REPORT, 2.0, "report output generated", Near("generat*|render*|export*|download*|print*",
        "report|reports|pdf*|context*|artifact*|artefact*|document*")),
    rule(REPORT, 2.0, "report artefact named", Any("pdf*|export*|context artifact*|artifact*|\
        artefact*|template*|render*")),

    rule(RUN, 3.0, "profiling run fails", Near(RUN_OBJECTS, RUN_FAILS)),
    rule(RUN, 3.0, "run timed out", Any("timed out|timing out|times out|time out|timeout*|\
        *_timeout|took too long|takes forever|takes too long")),
    rule(RUN, 3.0, "run never finishes", Any("never end*|never returns|wont finish|wont complete|\
        for hours|been going|pending|queued|still running|stuck running|stuck in running|\
        keeps running|been running|running forever|running for|hangs|hanging|hung|\
        stuck in queue*|no progress")),
    rule(RUN, 3.0, "run not finished", Negated("finish*|complet*|succeed*|done|start*|begin*")),
    rule(RUN, 3.0, "warehouse refused access", Any("access denied|permission denied|\
        not authorized|unauthorized|forbidden|no permission*|no privilege*|\
        insufficient privilege*|insufficient permission*|credential*|password*|service account*|\
        key rotation|authentication fail*")),
    rule(RUN, 3.0, "warehouse lacks a grant", Near(
        "denied|does not have|doesnt have|lacks|missing|revoked|expired",
        "permission*|privilege*|grant*|credential*|role")),
    rule(RUN, 3.0, "warehouse error", Any("does not exist|no such table|out of memory|oom|\
        disk full|no space|quota*|resources exceeded|memory limit|terminated|killed|suspended|\
        connection refused|connection reset|could not connect|cannot connect|cant connect|\
        unable to connect|lost connection|sql compilation|syntax error|deadlock*")),
    rule(RUN, 2.0, "no profile produced", Any("no profile|never profiled|nothing profiled|\
        no results|no stats|no statistics|profile is empty|empty profile")),
    rule(RUN, 1.0, "warehouse-side terms", Any("sql|warehouse*|cluster*|query|queries|statement|\
        compute|executor*|spark|snowflake|bigquery|redshift|databricks|postgres*|duckdb")),
    rule(RUN, -2.0, "runs reported healthy", Any("running fine|runs fine|ran fine|succeeded|\
        successful*|completed|finished|green|works fine|no error*|without error*")),

    rule(OTHER, 3.0, "how-to question", Any("how do|how does|how are|how is|how can|how often|\
        is there a|is there an|is there any|is it possible|where can i|where do i|what does|\
        can someone explain")),
    rule(OTHER, 3.0, "feature request", Any("would be great|would be nice|would love|\
        it would help|feature request|please add|could you add|can you add|could we add|\
        can we add|add support|support for|i wish|nice to have|suggestion|enhancement|option to|\
        ability to|allow us|new feature")),
    rule(OTHER, 2.0, "documentation asked for", Any("docs|documentation|documented|guide|\
        tutorial|example*")),
    rule(OTHER, 2.0, "settings question", Any("default|defaults|setting|settings|configure|\
        configuration|schedule*")),
    rule(OTHER, 2.0, "curiosity, not a problem", Any("curious|wondering|quick question|\
        just asking|out of interest")),
    rule(OTHER, 2.0, "access or account question", Near("give|grant|add|invite|share|request|\
        manage", "access|teammate*|colleague*|user*|seat*|account*|workspace*")),
    rule(OTHER, 2.0, "account or product question", Any("api|sso|login|log in|sign in|billing|\
        pricing|license|slack|integration*|programmatic*|sdk|cli")),
    rule(OTHER, 1.5, "asked as a question", Question("what|which|who|when|where|how|does|do|is|\
        are|will|can")),
];
