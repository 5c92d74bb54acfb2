-- DuckDB reference build of one snapshot day, for benchmarks/full_scale.py: the same cleaned tables, star schema
-- and headline KPI figures as media_assets, from the same four .tsv.gz files, written as zstd Parquet like ours.
-- Placeholders filled in by full_scale.py: {raw} (folder of the four files), {out} (output folder), {date}
-- (snapshot day, yyyy-mm-dd), {last_title_year} (snapshot year + 30), {snapshot_year}, {title_types} (SQL list).
-- The rules follow media_assets.clean.transforms and media_assets.model.transforms; it does not de-duplicate keys
-- (the row-count comparison with our build would show a repeated key).

-- Clean layer: one typed Parquet file per raw file.
CREATE MACRO imdb_id(value, prefix) AS
    CASE WHEN regexp_full_match(value, prefix || '[0-9]{{7,9}}') THEN CAST(substr(value, 3) AS BIGINT) END;
CREATE MACRO bounded(value, low, high) AS CASE WHEN value BETWEEN low AND high THEN value END;
-- One IMDb file as text columns: tab-separated, a header, \N for null, no quoting.
CREATE MACRO imdb_file(name) AS TABLE
    SELECT * FROM read_csv('{raw}/' || name || '.tsv.gz', delim = '\t', quote = '', escape = '', header = true,
                           nullstr = '\N', all_varchar = true);

COPY (
    SELECT imdb_id(tconst, 'tt') AS title_id,
           tconst,
           titleType AS title_type,
           primaryTitle AS primary_title,
           originalTitle AS original_title,
           CASE isAdult WHEN '0' THEN false WHEN '1' THEN true END AS is_adult,
           bounded(TRY_CAST(startYear AS INTEGER), 1870, {last_title_year}) AS start_year,
           bounded(TRY_CAST(endYear AS INTEGER), 1870, {last_title_year}) AS end_year,
           bounded(TRY_CAST(runtimeMinutes AS INTEGER), 0, 2147483647) AS runtime_minutes,
           string_split(genres, ',') AS genres
    FROM imdb_file('title.basics')
    WHERE imdb_id(tconst, 'tt') IS NOT NULL
) TO '{out}/clean_title_basics.parquet' (FORMAT parquet, COMPRESSION zstd);

COPY (
    SELECT imdb_id(tconst, 'tt') AS title_id,
           tconst,
           bounded(TRY_CAST(averageRating AS DOUBLE), 1.0, 10.0) AS average_rating,
           TRY_CAST(numVotes AS BIGINT) AS num_votes
    FROM imdb_file('title.ratings')
    WHERE imdb_id(tconst, 'tt') IS NOT NULL
      AND bounded(TRY_CAST(averageRating AS DOUBLE), 1.0, 10.0) IS NOT NULL
      AND TRY_CAST(numVotes AS BIGINT) >= 0
) TO '{out}/clean_title_ratings.parquet' (FORMAT parquet, COMPRESSION zstd);

COPY (
    SELECT imdb_id(nconst, 'nm') AS person_id,
           nconst,
           primaryName AS primary_name,
           bounded(TRY_CAST(birthYear AS INTEGER), 1, {snapshot_year}) AS birth_year,
           bounded(TRY_CAST(deathYear AS INTEGER), 1, {snapshot_year}) AS death_year,
           CASE WHEN primaryProfession = '' THEN []::VARCHAR[] ELSE string_split(primaryProfession, ',') END
               AS primary_profession,
           list_filter(list_transform(string_split(knownForTitles, ','), lambda id: imdb_id(id, 'tt')),
                       lambda id: id IS NOT NULL) AS known_for_titles
    FROM imdb_file('name.basics')
    WHERE imdb_id(nconst, 'nm') IS NOT NULL
) TO '{out}/clean_name_basics.parquet' (FORMAT parquet, COMPRESSION zstd);

COPY (
    SELECT imdb_id(tconst, 'tt') AS title_id,
           CAST(ordering AS INTEGER) AS ordering,
           imdb_id(nconst, 'nm') AS person_id,
           category,
           job,
           TRY(from_json(characters, '["VARCHAR"]')) AS characters
    FROM imdb_file('title.principals')
    WHERE imdb_id(tconst, 'tt') IS NOT NULL
      AND TRY_CAST(ordering AS INTEGER) >= 1
      AND imdb_id(nconst, 'nm') IS NOT NULL
) TO '{out}/clean_title_principals.parquet' (FORMAT parquet, COMPRESSION zstd);

-- Star schema (a first day: every scoped title gets its first version).
CREATE TABLE dim_title AS
SELECT row_number() OVER (ORDER BY title_id) AS title_sk,
       title_id, tconst, primary_title, original_title, title_type, start_year, end_year, runtime_minutes,
       is_adult, genres, DATE '{date}' AS valid_from, NULL::DATE AS valid_to, true AS is_current
FROM '{out}/clean_title_basics.parquet'
WHERE title_type IN {title_types};
COPY dim_title TO '{out}/dim_title.parquet' (FORMAT parquet, COMPRESSION zstd);

CREATE TABLE dim_genre AS
SELECT row_number() OVER (ORDER BY genre_name) AS genre_id,
       genre_name,
       genre_name NOT IN ('Documentary', 'Biography', 'News', 'Reality-TV', 'Talk-Show', 'Game-Show', 'Sport')
           AS is_fiction
FROM (SELECT DISTINCT unnest(genres) AS genre_name FROM dim_title)
WHERE genre_name IS NOT NULL;
COPY dim_genre TO '{out}/dim_genre.parquet' (FORMAT parquet, COMPRESSION zstd);

CREATE TABLE title_genre_bridge AS
SELECT title_id, genre_id, 1.0 / count(*) OVER (PARTITION BY title_id) AS weighting_factor
FROM (SELECT DISTINCT title_id, unnest(genres) AS genre_name FROM dim_title)
JOIN dim_genre USING (genre_name);
COPY title_genre_bridge TO '{out}/title_genre_bridge.parquet' (FORMAT parquet, COMPRESSION zstd);

CREATE TABLE dim_date AS
SELECT year, year // 10 * 10 AS decade, (year // 10 * 10) || 's' AS decade_label, (year - 1) // 100 + 1 AS century
FROM range((SELECT least(min(start_year), min(end_year)) FROM dim_title),
           (SELECT greatest(max(start_year), max(end_year)) FROM dim_title) + 1) AS years(year);
COPY dim_date TO '{out}/dim_date.parquet' (FORMAT parquet, COMPRESSION zstd);

CREATE TABLE rated AS
SELECT r.title_id, d.title_sk, r.average_rating, r.num_votes
FROM '{out}/clean_title_ratings.parquet' AS r
JOIN dim_title AS d USING (title_id);

CREATE TABLE rating_parameters AS
SELECT quantile_cont(num_votes, 0.25) AS m, avg(average_rating) AS c FROM rated;

CREATE TABLE fact_ratings AS
SELECT CAST(strftime(DATE '{date}', '%Y%m%d') AS BIGINT) * 1000000000 + title_id AS rating_id,
       DATE '{date}' AS snapshot_date,
       title_id, title_sk, average_rating, num_votes,
       num_votes / (num_votes + p.m) * average_rating + p.m / (num_votes + p.m) * p.c AS bayesian_weighted_rating,
       CASE WHEN num_votes >= 100000 THEN 'high' WHEN num_votes >= 1000 THEN 'medium' ELSE 'low' END AS vote_tier,
       CASE WHEN average_rating < 3 THEN '1-2' WHEN average_rating < 5 THEN '3-4' WHEN average_rating < 7 THEN '5-6'
            WHEN average_rating < 9 THEN '7-8' ELSE '9-10' END AS rating_bucket
FROM rated, rating_parameters AS p;
COPY fact_ratings TO '{out}/fact_ratings.parquet' (FORMAT parquet, COMPRESSION zstd);

-- Credits of the scoped rated titles, straight from Parquet to Parquet (the wide credits are never held).
COPY (
    SELECT p.title_id * 10000 + p.ordering AS credit_id,
           p.title_id, p.person_id, p.ordering, p.category, p.job, p.characters
    FROM '{out}/clean_title_principals.parquet' AS p
    SEMI JOIN rated USING (title_id)
) TO '{out}/fact_cast_crew.parquet' (FORMAT parquet, COMPRESSION zstd);

CREATE TABLE credited AS SELECT DISTINCT person_id FROM '{out}/fact_cast_crew.parquet';
COPY (
    WITH known_for AS (
        SELECT DISTINCT person_id
        FROM (SELECT person_id, unnest(known_for_titles) AS title_id FROM '{out}/clean_name_basics.parquet')
        SEMI JOIN dim_title USING (title_id)
    ),
    kept AS (SELECT person_id FROM credited UNION SELECT person_id FROM known_for)
    SELECT n.*, false AS is_inferred
    FROM '{out}/clean_name_basics.parquet' AS n
    SEMI JOIN kept USING (person_id)
    UNION ALL
    SELECT person_id, 'nm' || lpad(CAST(person_id AS VARCHAR), 7, '0'), NULL, NULL, NULL, NULL, NULL, true
    FROM credited
    ANTI JOIN '{out}/clean_name_basics.parquet' USING (person_id)
) TO '{out}/dim_person.parquet' (FORMAT parquet, COMPRESSION zstd);

-- Headline KPI figures, read back by full_scale.py.
CREATE TABLE kpi_top_titles AS
SELECT kind, title_id, rank
FROM (
    SELECT CASE WHEN d.title_type = 'movie' THEN 'movies' ELSE 'tv_series' END AS kind,
           f.title_id,
           row_number() OVER (PARTITION BY d.title_type = 'movie' ORDER BY f.bayesian_weighted_rating DESC, f.num_votes DESC,
                                                         f.title_id) AS rank
    FROM fact_ratings AS f
    JOIN dim_title AS d USING (title_id)
    WHERE d.title_type IN ('movie', 'tvSeries', 'tvMiniSeries')
)
WHERE rank <= 25;

CREATE TABLE kpi_prolific_actors AS
SELECT person_id, count(*) AS credits
FROM '{out}/fact_cast_crew.parquet'
WHERE category IN ('actor', 'actress')
GROUP BY person_id
ORDER BY credits DESC, person_id
LIMIT 25;

CREATE TABLE kpi_genre_popularity AS
SELECT genre_name, count(*) AS titles, sum(f.num_votes) AS total_votes
FROM title_genre_bridge
JOIN dim_genre USING (genre_id)
LEFT JOIN fact_ratings AS f USING (title_id)
GROUP BY genre_name;
