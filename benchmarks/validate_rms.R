## rms::validate side of benchmarks/validate.py (R is needed only for this benchmark, never by the package).
##
## Usage: Rscript benchmarks/validate_rms.R DATA.csv MODELS.json OUT.json B SEED
##   MODELS.json: {"name": "R formula", ...} (formulas on the raw columns plus m26 and last4 below)
## For each model: lrm(formula, x = TRUE, y = TRUE) on all rows; set.seed(SEED);
## validate(fit, B = B, bw = TRUE, rule = "aic") timed with system.time(), /proc/loadavg read before and
## after. Writes the validate table, the fastbw kept shares and the timings to OUT.json.
## NOTE: bw = TRUE is fastbw(): approximate backward elimination on Wald statistics of each resample's full
## fit (no refits between deletions, no re-entry); analysis.bootstrap runs step()'s refitting selection.

suppressPackageStartupMessages({
  library(jsonlite)
  library(rms)
})
args <- commandArgs(trailingOnly = TRUE)
stopifnot(length(args) == 5)
DATA <- args[1]; MODELS <- fromJSON(args[2]); OUT <- args[3]
B <- as.integer(args[4]); SEED <- as.integer(args[5])

d <- read.csv(DATA, stringsAsFactors = TRUE)
d$m26 <- d$coupon_used_in_last6_month - d$coupon_used_in_last_month
d$last4 <- factor(pmin(d$coupon_used_in_last_month, 4))
dd <- datadist(d)
options(datadist = "dd")

loadavg <- function() paste(strsplit(readLines("/proc/loadavg"), " ")[[1]][1:3], collapse = " ")

out <- list(R = R.version.string, rms = as.character(packageVersion("rms")), B = B, seed = SEED, models = list())
for (name in names(MODELS)) {
  f <- as.formula(MODELS[[name]])
  fit <- eval(bquote(lrm(.(f), data = d, x = TRUE, y = TRUE)))
  before <- loadavg()
  set.seed(SEED)
  invisible(capture.output(st <- system.time(v <- rms::validate(fit, B = B, bw = TRUE, rule = "aic"))))
  after <- loadavg()
  m <- unclass(v)
  k <- attr(v, "kept")
  out$models[[name]] <- list(
    formula = MODELS[[name]],
    elapsed_s = unname(st["elapsed"]), user_s = unname(st["user.self"]), sys_s = unname(st["sys.self"]),
    loadavg_before = before, loadavg_after = after,
    index = rownames(m), index_orig = unname(m[, "index.orig"]), training = unname(m[, "training"]),
    test = unname(m[, "test"]), optimism = unname(m[, "optimism"]),
    corrected = unname(m[, "index.corrected"]), n = unname(m[, "n"]),
    kept_share = if (is.null(k)) NULL else as.list(colMeans(k)))
  message(name, ": ", unname(st["elapsed"]), " s")
}
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null"), OUT)
