## Bootstrap validation (rms::validate / rms::calibrate) on the real data: reference values and timings.
##
## Usage (from the repository root; R is not a dependency of the project, this was run once offline):
##   Rscript tests/reference/r/validate_tianmao.R /work/shared/data/tianmao.csv
## Input:  the shared data file (never copied into the repository); all rows, response coupon_ind.
## Output: tests/reference/r/validate_tianmao.json
##
## Two lrm fits (x = TRUE, y = TRUE):
##   linear: coupon_ind ~ age + job + marriage + default + returned + loan
##                        + coupon_used_in_last6_month + coupon_used_in_last_month
##   spline: coupon_ind ~ rcs(age, 4) + job + marriage + default + returned + loan + rcs(m26, 3) + last4
##           with m26 = coupon_used_in_last6_month - coupon_used_in_last_month and
##                last4 = factor(pmin(coupon_used_in_last_month, 4))
## For each: set.seed(2024); validate(fit, B = 200, bw = TRUE, rule = "aic") and
##           set.seed(2024); validate(fit, B = 200) (no selection), both timed with system.time(), with
##           /proc/loadavg read before and after; set.seed(2024); calibrate(fit, B = 200) (timed).
## NOTE: rms's bw = TRUE runs fastbw() in every resample: approximate backward elimination on the Wald
## statistics of that resample's full fit (Lawless & Singhal), removing factors while the AIC rule holds;
## no refitting between deletions, and no re-entry. It is NOT stats::step() (likelihood-based, AIC from
## refits, additions allowed). A Python re-implementation with refitting stepwise selection will select
## differently and its optimism will differ accordingly.

suppressPackageStartupMessages({
  library(jsonlite)
  library(rms)  # after jsonlite: jsonlite::validate would mask rms::validate (calls below are rms:: anyway)
})
args <- commandArgs(trailingOnly = TRUE)
DATA <- if (length(args) >= 1) args[1] else "/work/shared/data/tianmao.csv"
OUTFILE <- "tests/reference/r/validate_tianmao.json"
t_script <- Sys.time()

d <- read.csv(DATA, stringsAsFactors = TRUE)
d$m26 <- d$coupon_used_in_last6_month - d$coupon_used_in_last_month
d$last4 <- factor(pmin(d$coupon_used_in_last_month, 4))
dd <- datadist(d)
options(datadist = "dd")

loadavg <- function() {
  x <- strsplit(readLines("/proc/loadavg"), " ")[[1]]
  list(raw = paste(x, collapse = " "), load1 = as.numeric(x[1]), load5 = as.numeric(x[2]),
       load15 = as.numeric(x[3]))
}
timed <- function(expr) {
  before <- loadavg()
  st <- system.time(val <- expr)
  after <- loadavg()
  list(value = val,
       timing = list(elapsed_s = unname(st["elapsed"]), user_s = unname(st["user.self"]),
                     sys_s = unname(st["sys.self"]), loadavg_before = before, loadavg_after = after))
}

vtable <- function(v) {
  m <- unclass(v)
  attributes(m) <- attributes(m)[c("dim", "dimnames")]
  rows <- rownames(m)
  out <- list(index = rows)
  for (cn in colnames(m)) out[[cn]] <- unname(m[, cn])
  out
}

kept_summary <- function(v) {
  k <- attr(v, "kept")
  if (is.null(k)) return(NULL)
  pattern <- apply(k, 1, function(r) paste(colnames(k)[r], collapse = " + "))
  tab <- sort(table(pattern), decreasing = TRUE)
  list(n_resamples = nrow(k),
       share_kept = as.list(colMeans(k)),
       n_factors_kept_distribution = as.list(table(factor(rowSums(k), levels = 0:ncol(k)))),
       patterns = list(pattern = names(tab), count = as.integer(tab)))
}

fit_stats <- function(fit) {
  s <- fit$stats
  list(stats = as.list(s),
       coefficients = list(term = names(coef(fit)), estimate = unname(coef(fit)),
                           std_error = unname(sqrt(diag(vcov(fit))))),
       factors = fit$Design$name,
       n_params = length(coef(fit)))
}

one_model <- function(label, formula) {
  message("== ", label)
  fit <- eval(bquote(lrm(.(formula), data = d, x = TRUE, y = TRUE)))
  bw0 <- fastbw(fit, rule = "aic")
  res <- list(formula = paste(deparse(formula, width.cutoff = 500L), collapse = " "),
              n = nrow(d), events = sum(d$coupon_ind),
              fit = fit_stats(fit),
              fastbw_original = list(call = 'fastbw(fit, rule = "aic")',
                                     factors_deleted = fit$Design$name[bw0$factors.deleted],
                                     factors_kept = bw0$names.kept,
                                     printed = capture.output(print(bw0)),
                                     coefficients_kept = as.list(bw0$coefficients)))
  set.seed(2024)
  t1 <- timed(rms::validate(fit, B = 200, bw = TRUE, rule = "aic"))
  v1 <- t1$value
  res$validate_bw <- list(call = 'set.seed(2024); validate(fit, B = 200, bw = TRUE, rule = "aic")',
                          timing = t1$timing, table = vtable(v1), kept = kept_summary(v1),
                          printed = capture.output(print(v1, B = 0)))
  message("  validate bw: ", t1$timing$elapsed_s, " s")
  set.seed(2024)
  t2 <- timed(rms::validate(fit, B = 200))
  res$validate_nobw <- list(call = "set.seed(2024); validate(fit, B = 200)",
                            timing = t2$timing, table = vtable(t2$value))
  message("  validate: ", t2$timing$elapsed_s, " s")
  set.seed(2024)
  t3 <- timed(rms::calibrate(fit, B = 200))
  cal <- t3$value
  ## Summary exactly as rms 6.5's plot.calibrate.default prints it (there is no print method): over the
  ## n observations' predicted probabilities, err = predicted - approx(predy, calibrated.corrected).
  pr <- attr(cal, "predicted")
  ok <- !is.na(cal[, "predy"] + cal[, "calibrated.corrected"])
  err <- pr - approx(cal[ok, "predy"], cal[ok, "calibrated.corrected"], xout = pr, ties = mean)$y
  grid_err <- abs(cal[, "calibrated.corrected"] - cal[, "predy"])
  pdf(NULL)
  printed <- capture.output(plot(cal))
  invisible(dev.off())
  res$calibrate <- list(call = "set.seed(2024); calibrate(fit, B = 200)",
                        timing = t3$timing,
                        n = length(err),
                        mean_abs_error = mean(abs(err), na.rm = TRUE),
                        mean_squared_error = mean(err^2, na.rm = TRUE),
                        quantile90_abs_error = unname(quantile(abs(err), 0.9, na.rm = TRUE)),
                        summary_definition = "as printed by plot(cal) (rms 6.5 plot.calibrate.default): err = p_i - approx(predy, calibrated.corrected, xout = p_i, ties = mean)$y over the n fitted probabilities p_i; quantile type 7",
                        grid_mean_abs_error = mean(grid_err, na.rm = TRUE),
                        grid_quantile90_abs_error = unname(quantile(grid_err, 0.9, na.rm = TRUE)),
                        grid_definition = "|calibrated.corrected - predy| over the 50 predy grid points (not what rms prints)",
                        table = list(predy = unname(cal[, "predy"]),
                                     calibrated_orig = unname(cal[, "calibrated.orig"]),
                                     calibrated_corrected = unname(cal[, "calibrated.corrected"]),
                                     n_resamples = unname(cal[, "n"])),
                        printed = printed)
  message("  calibrate: ", t3$timing$elapsed_s, " s")
  res
}

models <- list(
  linear = one_model("linear", coupon_ind ~ age + job + marriage + default + returned + loan +
                       coupon_used_in_last6_month + coupon_used_in_last_month),
  spline = one_model("spline", coupon_ind ~ rcs(age, 4) + job + marriage + default + returned + loan +
                       rcs(m26, 3) + last4)
)

cpu <- grep("model name", readLines("/proc/cpuinfo"), value = TRUE)
pk <- c("rms", "Hmisc", "jsonlite", "survival", "stats")
out <- list(
  provenance = list(
    script = "tests/reference/r/validate_tianmao.R",
    command = "Rscript tests/reference/r/validate_tianmao.R /work/shared/data/tianmao.csv",
    data = "tianmao.csv (shared data, not in the repository), all rows",
    data_md5 = unname(tools::md5sum(DATA)),
    R = R.version.string,
    packages = lapply(setNames(pk, pk), function(p) as.character(packageVersion(p))),
    date = format(Sys.time(), "%Y-%m-%d %H:%M:%S %Z"),
    script_seconds = as.numeric(difftime(Sys.time(), t_script, units = "secs")),
    machine = list(cpu = if (length(cpu)) sub(".*: ", "", cpu[1]) else NA, n_cpu = parallel::detectCores(),
                   blas = extSoftVersion()[["BLAS"]], lapack = La_library()),
    seed = 2024,
    json = "jsonlite::toJSON(x, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = \"null\"); 15 significant digits"
  ),
  notes = list(
    fastbw = "bw = TRUE in rms::validate uses fastbw(): approximate backward elimination by Wald statistics computed from each resample's full fit (no refits between deletions, no re-entry), rule = \"aic\" deletes factors while the Wald chi-square minus 2*df of the deleted set stays below 0 (approximate AIC). It is not stats::step().",
    validate_columns = "index.orig = apparent index on the original fit; training = mean over resamples of the index in the bootstrap sample; test = mean of the index of the bootstrap fit evaluated on the original data; optimism = training - test; index.corrected = index.orig - optimism; n = resamples used.",
    index_orig_bw = "With bw = TRUE, index.orig is the apparent performance of the model after fastbw() on the ORIGINAL fit (linear model: age deleted, so its index.orig differs from validate without bw); in each resample fastbw runs on the bootstrap fit and both training and test indices use the reduced model.",
    kept = "attr(v, 'kept'): B x factors logical matrix of factors retained by fastbw in each resample; share_kept = column means.",
    calibrate_summary = "mean_abs_error / quantile90_abs_error as rms prints them in plot(cal): over the n fitted probabilities (grid_* = over the 50 predy grid points)."
  ),
  models = models
)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null"), OUTFILE)
message("written ", OUTFILE)
