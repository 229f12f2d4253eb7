#!/usr/bin/env bash
# C-FIND benchmark: latency of hokan-archive's query path on a large index.
#
#   bash bench/find_bench.sh [--patients N] [--runs N] [--warmup N] [--archive PATH]
#                            [--database NAME] [--keep]
#
# Starts build/scp/hokan-archive on a throwaway database of the project-local
# PostgreSQL cluster (the archive applies the migrations), then fills the index
# with COPY: 3 facilities of N patients each (default 30000), 1-5 studies per
# patient (about 2.9), 1-6 series per study (about 3), 1-30 instances per
# series (about 13): about 110 instances per patient, 9.8 million in all with
# the default (7.5 GB, about 3 minutes on 2 CPUs); --patients 10000 gives 3.3
# million, and 3100 is the smallest fill above 1,000,000. Index-only rows: no
# files, as C-FIND never reads one. Then VACUUM (ANALYZE), and times DCMTK's
# findscu against the archive, as a viewer of one facility, for:
#   1  STUDY level, exact PatientID
#   2  STUDY level, PatientName prefix wildcard (e.g. 'JONES^R*', tens of studies)
#   3  STUDY level, StudyDate range of one month
#   4  IMAGE level, every image of one series (StudyInstanceUID + SeriesInstanceUID)
# The study-level queries ask for the usual study-list return keys, including
# NumberOfStudyRelatedSeries/Instances. Every findscu and echoscu process is
# timed wall-clock; after --warmup runs (default 5) each query and echoscu run
# --runs times (default 50), interleaved. The table gives per query the matches,
# and the median and p95 of (findscu time - median echoscu time), i.e. the
# latency beyond process start and association set-up; also the archive's own
# C-FIND time from its log (median and p95). Then, on the local cluster, the
# four statements as the archive sent them (PostgreSQL's statement log, one
# more run of each query) and their EXPLAIN (ANALYZE, BUFFERS).
# --archive PATH measures that hokan-archive binary instead of building
# build/'s (for before/after comparisons); --database NAME fills database NAME
# once and reuses it in later runs with the same --patients (it is never
# dropped: drop it yourself).
# Every DCMTK program (findscu, echoscu, hokan-archive) runs with TCP_NODELAY=1.
# On exit the archive is stopped, the database dropped and the scratch
# directory under var/ removed (--keep keeps the directory and the logs).
#
# This is a measurement, never part of the test verdict. See bench/README.md.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$REPO"

PATIENTS=30000
RUNS=50
WARMUP=5
KEEP=0
PREBUILT=""        # --archive: a hokan-archive binary to measure instead of build/'s
REUSE_DB=""        # --database: a database kept between runs (filled once)
while (( $# > 0 )); do
    case "$1" in
        --patients) PATIENTS="$2"; shift 2 ;;
        --runs)     RUNS="$2"; shift 2 ;;
        --warmup)   WARMUP="$2"; shift 2 ;;
        --archive)  PREBUILT="$2"; shift 2 ;;
        --database) REUSE_DB="$2"; shift 2 ;;
        --keep)     KEEP=1; shift ;;
        -h|--help)  sed -n '2,37p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "find_bench: unknown argument '$1' (try --help)" >&2; exit 2 ;;
    esac
done
for value in "$PATIENTS" "$RUNS" "$WARMUP"; do
    [[ "$value" =~ ^[0-9]+$ ]] || { echo "find_bench: '$value' is not a number" >&2; exit 2; }
done
if (( PATIENTS < 100 || RUNS < 5 )); then
    echo "find_bench: --patients must be >= 100 and --runs >= 5" >&2
    exit 2
fi

FIND_TIMEOUT=120       # seconds one findscu may take
FACILITIES=(north central south)
VIEWER=NORTH_VIEWER    # the calling AE of echoscu; NORTH_Q1..NORTH_Q4 call for the queries

BENCH_NAME=find_bench
# shellcheck source=bench/lib.sh
source "$REPO/bench/lib.sh"   # PY, ARCHIVE, READY_TIMEOUT, TCP_NODELAY=1, log, die, ...

require_tools findscu echoscu psql
[[ -x "$PY" ]] || die "$PY not found (run: bash scripts/install-deps.sh)"

# --- cleanup ---------------------------------------------------------------------
bench_traps

# --- build -----------------------------------------------------------------------
if [[ -n "$PREBUILT" ]]; then
    [[ -x "$PREBUILT" ]] || die "--archive $PREBUILT is not an executable"
    ARCHIVE="$(cd "$(dirname "$PREBUILT")" && pwd -P)/$(basename "$PREBUILT")"
    BUILD_TYPE="prebuilt $ARCHIVE"
else
    build_archive
fi

# --- database server -------------------------------------------------------------
SERVER_LOG=""      # PostgreSQL's log, when we can read it (local cluster)
start_database
if [[ -z "${HOKAN_DATABASE_URL:-}" && -r var/pg/log/postgresql.log ]]; then
    SERVER_LOG="$REPO/var/pg/log/postgresql.log"
fi

make_workdir findbench
DB="hokan_findbench_$$"
FILL_MARK="find_bench: $PATIENTS patients per facility"
FILLED=0
if [[ -n "$REUSE_DB" ]]; then
    # Created and filled by the first run that names it, never dropped here.
    [[ "$REUSE_DB" =~ ^[a-z0-9_]+$ ]] || die "--database takes a name of [a-z0-9_]"
    DB="$REUSE_DB"
    if [[ -z "$(psql -X -qAt "$ADMIN_URL" -c "SELECT 1 FROM pg_database WHERE datname = '$DB'")" ]]; then
        psql -X -q -v ON_ERROR_STOP=1 "$ADMIN_URL" -c "CREATE DATABASE \"$DB\"" >/dev/null
    elif [[ "$(psql -X -qAt "$ADMIN_URL" -c "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = '$DB'")" == "$FILL_MARK" ]]; then
        FILLED=1
    else
        die "database $DB exists but was not filled by find_bench --patients $PATIENTS"
    fi
    DB_URL="${ADMIN_URL% dbname=postgres} dbname=$DB"
else
    create_database "$DB"
fi
URL="$DB_URL"
sql() { psql -X -qAt -v ON_ERROR_STOP=1 "$URL" "$@"; }

# --- archive ---------------------------------------------------------------------
# The example configuration plus three facilities. Each has a modality AE (the
# calling_ae of its rows) and viewer AEs that may only query; the queries call
# as NORTH_Q1..NORTH_Q4, one AE per query, so that the archive's log line of
# each C-FIND says which query it was.
CONFIG="$WORK/find_bench.ini"
cp config/hokan.example.ini "$CONFIG"
for f in "${FACILITIES[@]}"; do
    F="${f^^}"
    printf '\n[facility.%s]\nstore_ae_titles = %s_CT\nquery_ae_titles = %s_VIEWER, %s_Q1, %s_Q2, %s_Q3, %s_Q4\nallowed_peers =\n' \
        "$f" "$F" "$F" "$F" "$F" "$F" "$F" >>"$CONFIG"
done

PORT=""
ARCHIVE_LOG=""
ARCHIVE_PID=""     # leads its own process group; also in PIDS, for the EXIT trap
# start_archive NAME: start hokan-archive on a free port and wait for C-ECHO.
start_archive() {
    PORT="$(free_port)"
    ARCHIVE_LOG="$WORK/$1.log"
    spawn_server "$ARCHIVE_LOG" "$ARCHIVE" --config "$CONFIG" --port "$PORT" --storage-root "$WORK/storage" \
        --database-url "$URL" --log-level info
    ARCHIVE_PID="$SERVER_PID"
    wait_ready "$VIEWER" "$ARCHIVE_PID" HOKAN "$PORT" "$ARCHIVE_LOG" hokan-archive
}
# stop_archive: stop the archive start_archive started.
stop_archive() {
    stop_server "$ARCHIVE_PID"
    ARCHIVE_PID=""
}

log "starting hokan-archive on the empty database $DB (it applies the migrations)"
start_archive archive
declare -A FACILITY_ID
while IFS='|' read -r name id; do FACILITY_ID[$name]="$id"; done \
    < <(sql -c "SELECT name, id FROM facilities")
for f in "${FACILITIES[@]}"; do
    [[ -n "${FACILITY_ID[$f]:-}" ]] || die "the archive did not create facility $f"
done
A="${FACILITY_ID[north]}"   # the facility the queries are made for

FILL_SECONDS=0
if (( ! FILLED )); then
# --- generator -------------------------------------------------------------------
# Writes one table as COPY text, deterministically (fixed seed): every run, and
# every table of a run, sees the same patients, studies, series and instances.
# Studies are dated 2019-2024, between 07:00 and 19:00, and numbered in order
# of arrival (their date plus up to two days; 2 % are priors of up to three
# years earlier that arrive with a new study), so ids and dates correlate
# as in a real archive. Patients are numbered by their first arrival.
cat >"$WORK/generate.py" <<'PYTHON'
import datetime, hashlib, random, signal, sys

signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # a closed pipe (psql gone) ends it quietly
table, facility_arg, patients_per_facility = sys.argv[1], sys.argv[2], int(sys.argv[3])
part, parts = (int(x) for x in (sys.argv[4] if len(sys.argv) > 4 else "0/1").split("/"))
facilities = [tuple(x.split(":")) for x in facility_arg.split(",")]  # id:store AE
rng = random.Random(20261122)
w = sys.stdout.write

SURNAMES = """SMITH JOHNSON WILLIAMS BROWN JONES GARCIA MILLER DAVIS RODRIGUEZ MARTINEZ
HERNANDEZ LOPEZ GONZALEZ WILSON ANDERSON THOMAS TAYLOR MOORE JACKSON MARTIN LEE PEREZ
THOMPSON WHITE HARRIS SANCHEZ CLARK RAMIREZ LEWIS ROBINSON WALKER YOUNG ALLEN KING WRIGHT
SCOTT TORRES NGUYEN HILL FLORES GREEN ADAMS NELSON BAKER HALL RIVERA CAMPBELL MITCHELL
CARTER ROBERTS MULLER SCHMIDT SCHNEIDER FISCHER WEBER MEYER WAGNER BECKER SCHULZ HOFFMANN
TANAKA SUZUKI SATO WATANABE ITO YAMAMOTO NAKAMURA KOBAYASHI KATO YOSHIDA ROSSI RUSSO
FERRARI ESPOSITO BIANCHI ROMANO COLOMBO RICCI MARINO GRECO DUBOIS DURAND LEROY MOREAU
SIMON LAURENT LEFEBVRE MICHEL DAVID BERTRAND KOWALSKI NOWAK WISNIEWSKI WOJCIK KOWALCZYK
IVANOV SMIRNOV KUZNETSOV POPOV VASILIEV""".split()
GIVEN = """JAMES MARY ROBERT PATRICIA JOHN JENNIFER MICHAEL LINDA DAVID ELIZABETH WILLIAM
BARBARA RICHARD SUSAN JOSEPH JESSICA THOMAS SARAH CHARLES KAREN CHRISTOPHER LISA DANIEL
NANCY MATTHEW BETTY ANTHONY MARGARET MARK SANDRA DONALD ASHLEY STEVEN KIMBERLY PAUL EMILY
ANDREW DONNA JOSHUA MICHELLE KENNETH CAROL KEVIN AMANDA BRIAN DOROTHY GEORGE MELISSA
TIMOTHY DEBORAH HANS ANNA PETER MARIA KLAUS URSULA HIROSHI YUKI KENJI AKIKO MARCO GIULIA
LUCA FRANCESCA PIERRE MARIE JEAN CLAIRE PIOTR EWA IVAN OLGA""".split()
# Zipf-like: a few common surnames and given names, a long tail.
SURNAME_WEIGHTS = [1.0 / (i + 1) ** 0.8 for i in range(len(SURNAMES))]
GIVEN_WEIGHTS = [1.0 / (i + 1) ** 0.5 for i in range(len(GIVEN))]
#            weight  series   instances/series  SOP class                       bytes     description, body part
MODALITIES = {
    "CT": (30, (2, 5), (10, 30), "1.2.840.10008.5.1.4.1.1.2", 526000,
           ["CT CHEST W CONTRAST", "CT HEAD WO CONTRAST", "CT ABDOMEN PELVIS"], "CHEST"),
    "MR": (20, (3, 6), (10, 25), "1.2.840.10008.5.1.4.1.1.4", 135000,
           ["MRI BRAIN", "MRI KNEE LEFT", "MRI LUMBAR SPINE"], "BRAIN"),
    "CR": (20, (1, 2), (1, 1), "1.2.840.10008.5.1.4.1.1.1", 8400000, ["XR CHEST 2 VIEWS"], "CHEST"),
    "US": (10, (1, 3), (1, 10), "1.2.840.10008.5.1.4.1.1.6.1", 780000,
           ["US ABDOMEN", "US THYROID"], "ABDOMEN"),
    "DX": (10, (1, 2), (1, 1), "1.2.840.10008.5.1.4.1.1.1.1", 9100000,
           ["XR HAND RIGHT", "XR FOOT LEFT"], "HAND"),
    "MG": (10, (4, 4), (1, 1), "1.2.840.10008.5.1.4.1.1.1.2", 26000000,
           ["MAMMO SCREENING BILAT"], "BREAST"),
}
MODALITY_NAMES = list(MODALITIES)
MODALITY_WEIGHTS = [MODALITIES[m][0] for m in MODALITY_NAMES]
UID_ROOT = "1.2.826.0.1.3680043.10.1017"
FIRST = datetime.date(2019, 1, 1).toordinal()
DAYS = datetime.date(2025, 1, 1).toordinal() - FIRST

people = []   # (facility index, number in facility, name, birth date, sex)
studies = []  # (arrival, date ordinal, seconds, person, modality, random bits)
for fi in range(len(facilities)):
    surnames = rng.choices(SURNAMES, SURNAME_WEIGHTS, k=patients_per_facility)
    given = rng.choices(GIVEN, GIVEN_WEIGHTS, k=patients_per_facility)
    for j in range(patients_per_facility):
        name = f"{surnames[j]}^{given[j]}"
        if rng.random() < 0.3:
            name += "^" + chr(65 + rng.randrange(26))
        birth = f"{rng.randrange(1930, 2020)}{rng.randrange(1, 13):02d}{rng.randrange(1, 29):02d}"
        person = len(people)
        people.append((fi, j, name, birth, "MF"[rng.randrange(2)]))
        for _ in range(rng.choices((1, 2, 3, 4, 5), (25, 20, 20, 15, 20))[0]):
            day = rng.randrange(DAYS)
            arrival = day + rng.random() * 2
            if rng.random() < 0.02:
                day = max(0, day - rng.randrange(1, 3 * 365))
            studies.append((arrival, FIRST + day, rng.randrange(7 * 3600, 19 * 3600), person,
                            rng.choices(MODALITY_NAMES, MODALITY_WEIGHTS)[0], rng.randrange(1 << 30)))
studies.sort()

def received_text(arrival, seconds):
    received = datetime.datetime.combine(datetime.date.fromordinal(FIRST + int(arrival)),
                                         datetime.time(seconds // 3600, seconds // 60 % 60))
    return f"{received:%Y-%m-%d %H:%M:%S}+00"

patient_number = {}
first_received = {}
for study in studies:
    if study[3] not in patient_number:
        patient_number[study[3]] = len(patient_number) + 1
        first_received[study[3]] = received_text(study[0], study[2])
if table == "patients":
    for person, number in sorted(patient_number.items(), key=lambda item: item[1]):
        fi, j, name, birth, sex = people[person]
        patient_id = f"{10000000 + j * 61 + fi * 30:08d}"  # ranges overlap, values never do
        created = first_received[person]
        w(f"{number}\t{facilities[fi][0]}\t{patient_id}\t{name}\t{birth}\t{sex}\tISO_IR 100\t"
          f"{created}\t{created}\n")
    sys.exit(0)

series_id = 0
instance_id = 0
for study_id, (arrival, day, seconds, person, modality, bits) in enumerate(studies, 1):
    fi = people[person][0]
    facility_id, store_ae = facilities[fi]
    _, series_range, instance_range, sop_class, size, descriptions, body_part = MODALITIES[modality]
    date = datetime.date.fromordinal(day).strftime("%Y%m%d")
    time = f"{seconds // 3600:02d}{seconds // 60 % 60:02d}{seconds % 60:02d}"
    received = received_text(arrival, seconds)
    study_uid = f"{UID_ROOT}.{fi + 1}.{date}.{study_id}"
    if table == "studies":
        referring = f"{SURNAMES[bits % 40]}^{GIVEN[bits % 50]}"
        w(f"{study_id}\t{facility_id}\t{patient_number[person]}\t{study_uid}\t{date}\t{time}\t"
          f"A{fi + 1}{study_id:09d}\t{study_id % 100000}\t{descriptions[bits % len(descriptions)]}\t"
          f"{referring}\t{{{modality}}}\tISO_IR 100\t{received}\t{received}\n")
        continue
    low, high = series_range
    for number in range(1, low + bits % (high - low + 1) + 1):
        series_id += 1
        series_uid = f"{study_uid}.{number}"
        if table == "series":
            w(f"{series_id}\t{facility_id}\t{study_id}\t{series_uid}\t{modality}\t{number}\t"
              f"{descriptions[0]} {number}\t{body_part}\t{received}\t{received}\n")
            continue
        low_i, high_i = instance_range
        count = low_i + (bits >> 4) * number % (high_i - low_i + 1)
        if series_id % parts != part:   # another process writes this series
            instance_id += count
            continue
        prefix = f"{facility_id}\t{series_id}\t"
        path = f"{facility_id}/{study_uid}/{series_uid}/"
        for k in range(1, count + 1):
            instance_id += 1
            uid = f"{series_uid}.{k}"
            w(f"{instance_id}\t{prefix}{uid}\t{sop_class}\t{k}\t\\N\t512\t512\tISO_IR 100\t"
              f"1.2.840.10008.1.2.1\t{path}{uid}.dcm\t{size + k}\t"
              f"{hashlib.sha256(uid.encode()).hexdigest()}\t{received}\t{store_ae}\n")
PYTHON

# --- fill --------------------------------------------------------------------------
# PostgreSQL's advice for bulk loads ("Populating a Database"): COPY into the
# tables without their secondary indexes and foreign keys, then rebuild them.
# Their definitions are read from the catalog before, recreated from it, and
# compared afterwards, so the schema the queries run on is exactly the
# migrated one. (Primary keys stay: ids are ascending, so they are cheap.)
TABLES="'{patients,studies,series,instances}'::regclass[]"
schema_definitions() {
    sql -c "SELECT conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid)
              FROM pg_constraint WHERE conrelid = ANY ($TABLES)
            UNION ALL
            SELECT pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid = ANY ($TABLES)
            ORDER BY 1"
}
schema_definitions >"$WORK/schema.before"
OWNED_INDEX="EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid AND c.contype IN ('p', 'u', 'x'))"
sql -c "SELECT format('ALTER TABLE %s ADD CONSTRAINT %I %s;', conrelid::regclass, conname, pg_get_constraintdef(oid))
          FROM pg_constraint WHERE conrelid = ANY ($TABLES) AND contype = 'u'" >"$WORK/rebuild.sql"
sql -c "SELECT pg_get_indexdef(indexrelid) || ';' FROM pg_index i
         WHERE indrelid = ANY ($TABLES) AND NOT $OWNED_INDEX" >>"$WORK/rebuild.sql"
sql -c "SELECT format('ALTER TABLE %s ADD CONSTRAINT %I %s;', conrelid::regclass, conname, pg_get_constraintdef(oid))
          FROM pg_constraint WHERE conrelid = ANY ($TABLES) AND contype = 'f'" >>"$WORK/rebuild.sql"
{
    sql -c "SELECT format('ALTER TABLE %s DROP CONSTRAINT %I;', conrelid::regclass, conname)
              FROM pg_constraint WHERE conrelid = ANY ($TABLES) AND contype IN ('f', 'u')
             ORDER BY contype"
    sql -c "SELECT format('DROP INDEX %s;', indexrelid::regclass) FROM pg_index i
             WHERE indrelid = ANY ($TABLES) AND NOT $OWNED_INDEX"
} >"$WORK/drop.sql"
sql -f "$WORK/drop.sql"

GEN_FACILITIES=""
for f in "${FACILITIES[@]}"; do GEN_FACILITIES+="${GEN_FACILITIES:+,}${FACILITY_ID[$f]}:${f^^}_CT"; done
declare -A COLUMNS=(
    [patients]="id, facility_id, patient_id, patient_name, patient_birth_date, patient_sex, specific_character_set, created_at, updated_at"
    [studies]="id, facility_id, patient_fk, study_instance_uid, study_date, study_time, accession_number, study_id, study_description, referring_physician_name, modalities_in_study, specific_character_set, created_at, updated_at"
    [series]="id, facility_id, study_fk, series_instance_uid, modality, series_number, series_description, body_part_examined, created_at, updated_at"
    [instances]="id, facility_id, series_fk, sop_instance_uid, sop_class_uid, instance_number, number_of_frames, rows, columns, specific_character_set, transfer_syntax_uid, relative_path, size_bytes, checksum_sha256, received_at, calling_ae"
)
# copy_table TABLE [PART/PARTS]: generator | psql \copy
copy_table() {
    "$PY" "$WORK/generate.py" "$1" "$GEN_FACILITIES" "$PATIENTS" "${2:-0/1}" \
        | sql -c "\\copy $1 (${COLUMNS[$1]}) FROM STDIN"
}
log "filling: 3 facilities x $PATIENTS patients (COPY, then indexes and foreign keys)"
FILL_START=$EPOCHREALTIME
copy_table patients & p1=$!
copy_table studies & p2=$!
wait "$p1" || die "COPY patients failed"
wait "$p2" || die "COPY studies failed"
copy_table series & p1=$!
# The instances come from two processes (series of odd and even id): the
# generator is the slower half of the pipe.
copy_table instances 0/2 & p2=$!
copy_table instances 1/2 & p3=$!
wait "$p1" || die "COPY series failed"
wait "$p2" || die "COPY instances failed"
wait "$p3" || die "COPY instances failed"
COPY_SECONDS="$(awk -v s="$FILL_START" -v e="$EPOCHREALTIME" 'BEGIN { printf "%.0f", e - s }')"
log "COPY done in ${COPY_SECONDS}s; rebuilding indexes and foreign keys"
PGOPTIONS="-c maintenance_work_mem=256MB" sql -f "$WORK/rebuild.sql"
schema_definitions >"$WORK/schema.after"
diff -u "$WORK/schema.before" "$WORK/schema.after" >&2 \
    || die "the rebuilt indexes and constraints differ from the migrated schema"
for t in patients studies series instances; do
    sql -c "SELECT setval(pg_get_serial_sequence('$t', 'id'), max(id)) FROM $t" >/dev/null
done
# The counters ingest keeps (schema 005), computed once as the migration does.
log "setting the series and study counters and the facility usage"
sql -c "UPDATE series e SET number_of_instances = c.n
          FROM (SELECT series_fk, count(*) AS n FROM instances GROUP BY series_fk) c
         WHERE c.series_fk = e.id" >/dev/null
sql -c "UPDATE studies s SET number_of_series = c.series, number_of_instances = c.instances,
                             size_bytes = c.bytes, last_received_at = s.created_at
          FROM (SELECT e.study_fk, count(DISTINCT e.id) AS series, count(*) AS instances,
                       sum(i.size_bytes) AS bytes
                  FROM series e JOIN instances i ON i.series_fk = e.id GROUP BY e.study_fk) c
         WHERE c.study_fk = s.id" >/dev/null
# Sharing grants: every 35th patient is shared with each other facility, a
# fifth of them since revoked (what `hokan admin` would have written), granted
# when the patient arrived and revoked a day later (no clock is read: the
# generated data carries its own times).
sql -c "INSERT INTO sharing_grants (owner_facility_id, grantee_facility_id, patient_id, reason,
                                    granted_by, granted_at, revoked_by, revoked_at)
        SELECT p.facility_id, f.id, p.patient_id, 'referral', 'find_bench', p.created_at,
               CASE WHEN p.id / 35 % 5 = 0 THEN 'find_bench' END,
               CASE WHEN p.id / 35 % 5 = 0 THEN p.created_at + interval '1 day' END
          FROM patients p JOIN facilities f ON f.id <> p.facility_id
         WHERE p.id % 35 = 7 AND f.name IN ('north', 'central', 'south')"
# What autovacuum does to insert-only tables (it sets the visibility map the
# count subqueries' index-only scans rely on), then flush the dirty buffers
# so that the checkpointer does not write them during the measurement.
sql -c "VACUUM (ANALYZE) patients, studies, series, instances, sharing_grants"
sql -c "CHECKPOINT" 2>/dev/null || log "CHECKPOINT not permitted; continuing"
FILL_SECONDS="$(awk -v s="$FILL_START" -v e="$EPOCHREALTIME" 'BEGIN { printf "%.0f", e - s }')"
[[ -z "$REUSE_DB" ]] || sql -c "COMMENT ON DATABASE \"$DB\" IS '$FILL_MARK'"
else
    log "reusing the filled database $DB"
fi
IFS='|' read -r N_PATIENTS N_STUDIES N_SERIES N_INSTANCES N_GRANTS DB_SIZE < <(sql -c "
    SELECT (SELECT count(*) FROM patients), (SELECT count(*) FROM studies),
           (SELECT count(*) FROM series), (SELECT count(*) FROM instances),
           (SELECT count(*) FROM sharing_grants WHERE revoked_at IS NULL),
           pg_size_pretty(pg_database_size(current_database()))")
log "filled in ${FILL_SECONDS}s (0: reused): $N_PATIENTS patients, $N_STUDIES studies, $N_SERIES series, $N_INSTANCES instances, $N_GRANTS active grants ($DB_SIZE)"

# --- the four queries --------------------------------------------------------------
# Parameters picked from the data, for facility north (id $A):
# a patient with 3 studies, half-way through the table;
PATIENT_ID="$(sql -c "SELECT p.patient_id FROM patients p
    WHERE p.facility_id = $A AND p.id >= (SELECT max(id) / 2 FROM patients)
      AND (SELECT count(*) FROM studies s WHERE s.patient_fk = p.id) = 3
    ORDER BY p.id LIMIT 1")"
# a 'SURNAME^I*' prefix with tens of studies (closest to 40);
NAME_PREFIX="$(sql -c "SELECT split_part(p.patient_name, '^', 1) || '^' || left(split_part(p.patient_name, '^', 2), 1)
    FROM studies s JOIN patients p ON p.id = s.patient_fk WHERE s.facility_id = $A
    GROUP BY 1 HAVING count(*) BETWEEN 20 AND 99 ORDER BY abs(count(*) - 40), 1 LIMIT 1")*"
# the month of the median study date;
MONTH="$(sql -c "SELECT left(study_date, 6) FROM studies WHERE facility_id = $A
    ORDER BY study_date OFFSET (SELECT count(*) / 2 FROM studies WHERE facility_id = $A) LIMIT 1")"
DATE_RANGE="${MONTH}01-$(date -d "${MONTH}01 +1 month -1 day" +%Y%m%d)"
# a series of about 12 instances, half-way through the table.
IFS='|' read -r STUDY_UID SERIES_UID < <(sql -c "SELECT s.study_instance_uid, e.series_instance_uid
    FROM series e JOIN studies s ON s.id = e.study_fk
    WHERE e.facility_id = $A AND e.id BETWEEN (SELECT max(id) / 2 FROM series) AND (SELECT max(id) / 2 + 3000 FROM series)
    ORDER BY abs((SELECT count(*) FROM instances i WHERE i.series_fk = e.id) - 12), e.id LIMIT 1")
[[ -n "$PATIENT_ID" && "$NAME_PREFIX" != "*" && -n "$MONTH" && -n "$SERIES_UID" ]] \
    || die "could not pick the query parameters from the data"

STUDY_RETURN_KEYS=(-k PatientName -k PatientID -k PatientBirthDate -k PatientSex -k StudyInstanceUID
    -k StudyDate -k StudyTime -k AccessionNumber -k StudyID -k StudyDescription -k ModalitiesInStudy
    -k ReferringPhysicianName -k NumberOfStudyRelatedSeries -k NumberOfStudyRelatedInstances)
QUERY_LABEL=(
    ""
    "1 STUDY  PatientID=$PATIENT_ID"
    "2 STUDY  PatientName=$NAME_PREFIX"
    "3 STUDY  StudyDate=$DATE_RANGE"
    "4 IMAGE  one series"
)
query_keys() { # query_keys N: findscu's -k arguments of query N (into KEYS)
    case "$1" in
        1) KEYS=(-k QueryRetrieveLevel=STUDY "${STUDY_RETURN_KEYS[@]}" -k "PatientID=$PATIENT_ID") ;;
        2) KEYS=(-k QueryRetrieveLevel=STUDY "${STUDY_RETURN_KEYS[@]}" -k "PatientName=$NAME_PREFIX") ;;
        3) KEYS=(-k QueryRetrieveLevel=STUDY "${STUDY_RETURN_KEYS[@]}" -k "StudyDate=$DATE_RANGE") ;;
        4) KEYS=(-k QueryRetrieveLevel=IMAGE -k "StudyInstanceUID=$STUDY_UID" -k "SeriesInstanceUID=$SERIES_UID"
                 -k SOPInstanceUID -k SOPClassUID -k InstanceNumber -k Rows -k Columns -k NumberOfFrames) ;;
    esac
}

# --- measurement -------------------------------------------------------------------
# now_us: microseconds since the epoch, without a fork.
now_us() { local t=$EPOCHREALTIME; echo "${t/[.,]/}"; }
declare -A SAMPLES   # name -> space-separated microseconds
# timed NAME COMMAND...: run once, append its wall-clock time to SAMPLES[NAME].
timed() {
    local name="$1" start end
    shift
    start=$EPOCHREALTIME
    "$@" >/dev/null 2>"$WORK/last.err" || { cat "$WORK/last.err" >&2; die "$name: '$*' failed"; }
    end=$EPOCHREALTIME
    SAMPLES[$name]+="$(( ${end/[.,]/} - ${start/[.,]/} )) "
}
echo_once() { timeout "$FIND_TIMEOUT" echoscu -aet "$VIEWER" -aec HOKAN localhost "$PORT"; }
find_once() { # find_once N [findscu options]
    local n="$1"
    shift
    query_keys "$n"
    timeout "$FIND_TIMEOUT" findscu "$@" -S -aet "NORTH_Q$n" -aec HOKAN localhost "$PORT" "${KEYS[@]}"
}

log "queries for facility north: PatientID=$PATIENT_ID, PatientName=$NAME_PREFIX, StudyDate=$DATE_RANGE, SeriesInstanceUID=$SERIES_UID"
# Matches, as findscu reports them (one run, not timed).
MATCHES=()
for n in 1 2 3 4; do
    find_once "$n" -v >"$WORK/find$n.out" 2>&1 || { tail -n 20 "$WORK/find$n.out" >&2; die "query $n failed"; }
    MATCHES[n]="$(grep -ac 'Find Response: [0-9]* (Pending)' "$WORK/find$n.out" || true)"
    grep -aq 'Received Final Find Response (Success)' "$WORK/find$n.out" \
        || { tail -n 20 "$WORK/find$n.out" >&2; die "query $n did not end with success"; }
done
log "warm-up: $WARMUP runs of each, then $RUNS timed runs of each, interleaved"
LOAD_BEFORE="$(cut -d' ' -f1 /proc/loadavg)"
for ((r = 0; r < WARMUP; r++)); do
    timed warmup echo_once
    for n in 1 2 3 4; do timed warmup find_once "$n" -q; done
done
SKIP_LOG_LINES="$(grep -c 'C-FIND from' "$ARCHIVE_LOG" || true)"
for ((r = 0; r < RUNS; r++)); do
    timed echo echo_once
    for n in 1 2 3 4; do timed "q$n" find_once "$n" -q; done
done
MEASURE_LOG="$ARCHIVE_LOG"
LOAD_AFTER="$(cut -d' ' -f1 /proc/loadavg)"

# stats LIST [OFFSET]: "median p95" in ms of (value - OFFSET) for microsecond
# values; p95 by nearest rank.
stats() {
    tr ' ' '\n' <<<"$1" | awk NF | sort -n | awk -v off="${2:-0}" '
        { v[NR] = ($1 - off) / 1000 }
        END {
            m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
            r = int(NR * 0.95); if (r < NR * 0.95) r++
            printf "%.1f %.1f\n", m, v[r]
        }'
}
read -r ECHO_MEDIAN ECHO_P95 < <(stats "${SAMPLES[echo]}")
ECHO_MEDIAN_US="$(awk -v m="$ECHO_MEDIAN" 'BEGIN { printf "%d", m * 1000 }')"
# The archive's own time per C-FIND (request received to final response sent,
# in ms to 0.01) from its log, timed runs only.
server_ms() {
    grep 'C-FIND from' "$MEASURE_LOG" | tail -n "+$((SKIP_LOG_LINES + 1))" \
        | sed -n "s/.*C-FIND from NORTH_Q$1 at .* status \(0x[0-9A-F]*\).*, \([0-9.]*\) ms$/\1 \2/p"
}
for n in 1 2 3 4; do
    if server_ms "$n" | awk '$1 != "0x0000"' | grep -q . \
        || [[ "$(server_ms "$n" | wc -l)" != "$RUNS" ]]; then
        die "not every timed C-FIND of query $n succeeded (log: $MEASURE_LOG)"
    fi
done

# --- the statements the archive sent -----------------------------------------------
# The archive keeps no copy of its SQL here and logs no parameter values, so
# the statements come from PostgreSQL's statement log: a second archive on
# the same database, with log_min_duration_statement = 0 for this database
# only (after the measurement), runs each query once. Per query, the C-FIND
# statement is the one record whose text ends in "ORDER BY <alias>.id"; its
# parameters are the DETAIL record after it; the SET LOCAL statement of its
# transaction before it gives the planner settings EXPLAIN runs with.
STATEMENT=()
PARAMS=()
SETTINGS=()        # the planner settings of the C-FIND's transaction, as SET statements
if [[ -n "$SERVER_LOG" ]]; then
    stop_archive
    sql -c "ALTER DATABASE \"$DB\" SET log_min_duration_statement = 0"
    start_archive archive-check
    for n in 1 2 3 4; do
        offset="$(stat -c %s "$SERVER_LOG")"
        find_once "$n" -q >/dev/null 2>&1 || die "query $n failed on the second archive"
        # Records of this database: a line with a time stamp, then lines that
        # start with a tab.
        tail -c "+$((offset + 1))" "$SERVER_LOG" | awk -v tag=" hokan@$DB " -v out="$WORK/sent$n" '
            function flush() {
                if (rec ~ /LOG:  duration: [0-9.]+ ms  statement: SET LOCAL /) {
                    sub(/^[^\n]*statement: /, "", rec)
                    settings = rec
                } else if (rec ~ /LOG:  duration: [0-9.]+ ms  execute [^:]*: SELECT/) {
                    sub(/^[^\n]*execute [^:]*: /, "", rec)
                    gsub(/\n\t/, "\n", rec)
                    want = (rec ~ /\nORDER BY [a-z]+\.id$/)
                    if (want) {
                        printf "%s", rec > (out ".sql"); close(out ".sql")
                        printf "%s", settings > (out ".settings"); close(out ".settings")
                    }
                } else if (want && rec ~ /DETAIL:  parameters: /) {
                    sub(/^.*DETAIL:  parameters: /, "", rec)
                    gsub(/\$[0-9]+ = /, "", rec)
                    printf "%s", rec > (out ".params"); close(out ".params")
                    want = 0
                }
                rec = ""
            }
            /^[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] / { flush(); if (index($0, tag)) rec = $0; next }
            rec != "" { rec = rec "\n" $0 }
            END { flush() }'
        [[ -s "$WORK/sent$n.sql" && -s "$WORK/sent$n.params" ]] \
            || die "query $n: no C-FIND statement with parameters in PostgreSQL's log ($SERVER_LOG)"
        STATEMENT[n]="$(cat "$WORK/sent$n.sql")"
        SETTINGS[n]="$(sed 's/SET LOCAL /SET /g' "$WORK/sent$n.settings")"
        PARAMS[n]="$(cat "$WORK/sent$n.params")"
    done
    stop_archive
    sql -c "ALTER DATABASE \"$DB\" RESET log_min_duration_statement"
fi

# --- EXPLAIN ----------------------------------------------------------------------------
# Each statement runs once, so that this session's catalog caches are warm as
# the archive's pooled connections are, then EXPLAIN (ANALYZE, BUFFERS) runs it
# with the same parameters (PREPARE: planned with the values, as the
# archive's unnamed statements are).
PLAN_EXEC=()
PLAN_PLANNING=()
for n in 1 2 3 4; do
    [[ -n "${STATEMENT[n]:-}" ]] || continue
    {
        [[ -z "${SETTINGS[n]}" ]] || printf '%s;\n' "${SETTINGS[n]}"
        printf 'PREPARE q%d AS %s;\n' "$n" "${STATEMENT[n]}"
        printf '\\o /dev/null\nEXECUTE q%d(%s);\n\\o\n' "$n" "${PARAMS[n]}"
        printf 'EXPLAIN (ANALYZE, BUFFERS) EXECUTE q%d(%s);\n' "$n" "${PARAMS[n]}"
    } >"$WORK/explain$n.sql"
    sql -f "$WORK/explain$n.sql" >"$WORK/explain$n.txt"
    PLAN_EXEC[n]="$(sed -n 's/^Execution Time: \(.*\) ms$/\1/p' "$WORK/explain$n.txt")"
    PLAN_PLANNING[n]="$(sed -n 's/^Planning Time: \(.*\) ms$/\1/p' "$WORK/explain$n.txt")"
done

# --- report ------------------------------------------------------------------------
echo
if [[ -n "$SERVER_LOG" ]]; then
    for n in 1 2 3 4; do
        echo "=== query ${QUERY_LABEL[n]}: the statement the archive sent, parameters (${PARAMS[n]})"
        [[ -z "${SETTINGS[n]}" ]] || echo "(in its transaction: ${SETTINGS[n]})"
        echo "${STATEMENT[n]}"
        echo "=== EXPLAIN (ANALYZE, BUFFERS)"
        cat "$WORK/explain$n.txt"
        echo
    done
    for n in 1 2 3 4; do
        printf 'plan %d: %s\n' "$n" "$(grep -oE '(Parallel )?(Seq Scan on [a-z_]+|(Index|Index Only|Bitmap Index) Scan (using|on) [a-z_]+)' \
            "$WORK/explain$n.txt" | sort | uniq | paste -sd ';' | sed 's/;/; /g')"
        if grep -q 'Workers Launched' "$WORK/explain$n.txt"; then
            echo "plan $n: parallel, $(grep -o 'Workers Launched: [0-9]*' "$WORK/explain$n.txt" | head -n1)"
        fi
        if grep -q '^JIT:' "$WORK/explain$n.txt"; then
            echo "plan $n: JIT compiled, $(grep -o 'Total [0-9.]* ms' "$WORK/explain$n.txt" | head -n1)"
        fi
    done
else
    echo "statements: not shown (PostgreSQL's statement log is not readable with HOKAN_DATABASE_URL)"
fi
echo
echo "C-FIND benchmark: $N_PATIENTS patients, $N_STUDIES studies, $N_SERIES series, $N_INSTANCES instances" \
     "in 3 facilities, $N_GRANTS active sharing grants; database $DB_SIZE, filled in ${FILL_SECONDS}s"
echo "machine: $(nproc) CPUs, $(awk '/MemTotal/ { printf "%.0f GB RAM", $2 / 1048576 }' /proc/meminfo), PostgreSQL $(sql -c 'SHOW server_version' | cut -d' ' -f1)" \
     "(shared_buffers $(sql -c 'SHOW shared_buffers')); hokan build: ${BUILD_TYPE:-?}"
echo "$RUNS runs after $WARMUP warm-up runs; load average $LOAD_BEFORE before the runs, $LOAD_AFTER after"
echo "echoscu (process start, association, C-ECHO, release): median $ECHO_MEDIAN ms, p95 $ECHO_P95 ms"
echo "client = findscu wall-clock time - median echoscu time; server = the archive's logged C-FIND time"
echo "(request received to final response sent); SQL = EXPLAIN ANALYZE planning + execution"
printf '%-38s %7s %15s %15s %11s %6s\n' "query (facility north)" matches "client med/p95" \
    "server med/p95" "SQL ms" "aim"
for n in 1 2 3 4; do
    read -r median p95 < <(stats "${SAMPLES[q$n]}" "$ECHO_MEDIAN_US")
    read -r server_median server_p95 < <(stats "$(server_ms "$n" | awk '{ printf "%d ", $2 * 1000 }')")
    sqlms="$(awk -v p="${PLAN_PLANNING[n]:-0}" -v e="${PLAN_EXEC[n]:-0}" 'BEGIN { printf "%.1f+%.1f", p, e }')"
    aim="$(awk -v m="$median" -v p="$p95" 'BEGIN { print (m < 10 && p < 20) ? "met" : "MISSED" }')"
    printf '%-38s %7s %15s %15s %11s %6s\n' "${QUERY_LABEL[n]}" "${MATCHES[n]}" "$median / $p95" \
        "$server_median / $server_p95" "$sqlms" "$aim"
done
echo "aim (from the issue): median < 10 ms and p95 < 20 ms (client)"
