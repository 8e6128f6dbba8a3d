## Reference values from R for analysis/splines.py (restricted cubic splines as rms::rcs / Hmisc::rcspline.eval).
##
## Usage (from the repository root; R is not a dependency of the project, this was run once offline):
##   Rscript tests/reference/r/splines.R ../shared/data/tianmao.csv tests/reference/r/splines.json
## Computed with R 4.2.2, rms 6.5.0, Hmisc 4.8.0, jsonlite 1.8.4 (Debian packages); the versions and the
## date are written into the JSON ("provenance").
## Numbers are written with 15 significant digits (jsonlite digits = NA); knots are also written as
## sprintf("%.17g") strings ("knots_exact"), which read back as the exact doubles R computed.  The synthetic
## vectors are written run-length encoded, x = rep(x_values, x_lengths), the values as %.17g strings
## (NA written "NA"), so Python rebuilds exactly the doubles R used.
##
## What it computes
##  1. Hmisc::rcspline.eval(x, nk = nk, knots.only = TRUE) -- the knots rms::rcs(x, nk) uses -- with every
##     warning, error and printed line captured as text:
##     real data (all 25,317 rows): age nk = 3..7; m26 = coupon_used_in_last6_month - coupon_used_in_last_month
##     nk = 3..5; coupon_used_in_last_month nk = 3, 4 (mostly 0); the first 60 rows' age nk = 3..7 (n < 100);
##     and small synthetic vectors (written into the JSON) that reach each branch of rcspline.eval.
##  2. rcspline.eval(x, knots, inclx = TRUE) (norm = 2, what rms::rcs uses) for age at 20 chosen values with
##     the nk = 4 knots, and for the synthetic vectors' own knots.
##  3. lrm(coupon_ind ~ rcs(age, 4) + job + marriage + default + returned + loan + rcs(m26, 3)
##            + coupon_used_in_last_month, x = TRUE, y = TRUE, eps = 1e-10, maxit = 100)
##     (lrm.fit's default stops when -2 log L changes by less than eps = 0.025; with eps = 1e-10 the fit is
##     converged to rounding.  Checked once: the default fit's coefficients differ from these by at most
##     4e-10 relative, SEs 1.2e-10, log L 3e-11, so either is fine at the tests' tolerances),
##     and the same model with glm(family = binomial, control = glm.control(epsilon = 1e-15, maxit = 100)):
##     coefficients, SEs, log-likelihood, AIC, fitted probabilities of rows 1..20; anova(lrm fit) (every
##     line; its P is rms's 1 - pchisq(), 0 below 1e-16, so "p_upper_tail" adds pchisq(lower.tail = FALSE));
##     the LR chi-square of the non-linear part of age (glm rcs(age, 4) vs glm with age linear);
##     summary(lrm fit) with datadist() on the data (interquartile-range effects and odds ratios).
##     Character columns are factors with R's default levels (sorted, C collation here: first level is
##     the baseline); the levels are written into the JSON.
suppressPackageStartupMessages({
  library(rms)
  library(jsonlite)
})
options(width = 200)
args <- commandArgs(trailingOnly = TRUE)
DATA <- if (length(args) >= 1) args[1] else "../shared/data/tianmao.csv"
OUT <- if (length(args) >= 2) args[2] else "tests/reference/r/splines.json"

exact <- function(v) if (length(v)) sprintf("%.17g", unname(v)) else character(0)

## rcspline.eval(x, nk, knots.only = TRUE) with its warnings, error and printed output as text
knots_of <- function(x, nk, fractied = 0.05) {
  warns <- character(0)
  err <- NULL
  res <- NULL
  printed <- capture.output(
    res <- withCallingHandlers(
      tryCatch(rcspline.eval(x, nk = nk, knots.only = TRUE, fractied = fractied),
               error = function(e) { err <<- conditionMessage(e); NULL }),
      warning = function(w) { warns <<- c(warns, conditionMessage(w)); invokeRestart("muffleWarning") }))
  list(nk = nk, fractied = fractied,
       knots = I(if (is.null(res)) numeric(0) else unname(res)),
       knots_exact = I(if (is.null(res)) character(0) else exact(res)),
       warnings = I(warns), error = !is.null(err), error_message = if (is.null(err)) "" else err,
       printed = I(printed))
}

d <- read.csv(DATA, stringsAsFactors = FALSE)
d$m26 <- d$coupon_used_in_last6_month - d$coupon_used_in_last_month
cats <- c("job", "marriage", "default", "returned", "loan")
for (v in cats) d[[v]] <- factor(d[[v]])
levels_used <- lapply(setNames(cats, cats), function(v) levels(d[[v]]))

## ---- 1. knots on the real data ----
real_knots <- list(
  age = lapply(3:7, function(k) knots_of(d$age, k)),
  m26 = lapply(3:5, function(k) knots_of(d$m26, k)),
  coupon_used_in_last_month = lapply(3:4, function(k) knots_of(d$coupon_used_in_last_month, k)),
  age_first60 = lapply(3:7, function(k) knots_of(d$age[1:60], k))
)

## ---- 1b. synthetic vectors that reach each branch of rcspline.eval ----
syn <- list(
  n_below_6 = list(x = c(1, 2, 3, 4, 5), nk = 3,
                   why = "fewer than 6 non-missing values: error"),
  nk_below_3 = list(x = as.numeric(1:50), nk = 2, why = "nk < 3: error"),
  na_dropped = list(x = c(NA, 3, 1, NA, 2, 5, 4, 8, 7, 6, 9, 10, 12, 11, NA), nk = c(3, 4),
                    why = "missing values dropped; n < 100 rule"),
  few_unique_4 = list(x = rep(c(1, 2, 3, 4, 5, 6), 20), nk = c(4, 5, 6),
                      why = "nxu - 2 <= nk: knots at the interior unique values, with a warning"),
  few_unique_error = list(x = rep(c(1, 2, 3, 4), 10), nk = 3,
                          why = "nxu - 2 <= nk with only 2 interior values: fewer than 3 knots, error"),
  plain_250 = list(x = as.numeric(1:250), nk = 3:7, why = "default quantiles, no ties"),
  tied_first = list(x = c(rep(0, 30), 1:200), nk = 3:5,
                    why = "fractied: smallest value has >= 5% of rows, knot at the second smallest value"),
  tied_last = list(x = c(1:200, rep(300, 30)), nk = 3:5,
                   why = "fractied: largest value has >= 5% of rows"),
  tied_both = list(x = c(rep(0, 30), 1:200, rep(300, 30)), nk = 3:5,
                   why = "fractied at both ends; nk = 3 leaves one knot: the median"),
  tied_both_tiny = list(x = c(rep(0, 50), 1, 2, 3, 4, rep(5, 50)), nk = 3:5,
                        why = "fractied at both ends leaving 2 values; n < 100 rule indexing past the end"),
  tied_both_short = list(x = c(rep(0, 50), 1:8, rep(9, 50)), nk = 3:7,
                         why = "fractied at both ends leaving 6 values (n < 100 rule does not override tied knots)"),
  short_first_only = list(x = c(rep(0, 50), 1:8), nk = 4,
                          why = "fractied at the low end leaves 7 values; n < 100 rule puts knot nke at xx[3]"),
  short_first_index0 = list(x = c(rep(0, 50), 1:5), nk = 3,
                            why = "fractied at the low end leaves 4 values: knots[nke] <- xx[0] fails in R"),
  short_last_na = list(x = c(1:5, rep(6, 50)), nk = 3,
                       why = "fractied at the high end leaves 4 values: knots[1] <- xx[5] is NA, dropped; < 3 knots"),
  short_last_only = list(x = c(1:6, rep(7, 50)), nk = 4,
                         why = "fractied at the high end leaves 5 values: knots[1] <- xx[5]"),
  tied_first_small = list(x = c(rep(0, 10), 1:60), nk = 3:5,
                          why = "fractied and n < 100: the overridden first knot is kept"),
  tied_off = list(x = c(rep(0, 30), 1:200), nk = 4, fractied = 0,
                  why = "fractied = 0 switches the tie rule off"),
  alternate_ok = list(x = c(rep(0, 700), rep(1, 60), 2:241), nk = 4,
                      why = "default quantiles give < 3 unique knots: alternate algorithm, warning"),
  alternate_error = list(x = c(rep(0, 900), rep(1, 60), 2:41), nk = 4,
                         why = "alternate algorithm still < 3 unique knots: error"),
  alternate_firstknot = list(x = c(rep(0, 9000), 1, rep(2, 400), rep(3, 100), 4:9), nk = 4:5,
                             why = "alternate algorithm after a tied first value: knots {firstknot, median, q(1 - outer)}"),
  alternate_firstknot_error = list(x = c(rep(0, 900), 1, rep(2, 45), rep(3, 45), 4:12), nk = 3,
                                   why = "alternate algorithm after a tied first value, still < 3 knots: error"),
  print_merge = list(x = c(rep(0.3, 30), rep(0.1 + 0.2, 30), as.numeric(1:200)), nk = 4,
                     why = "table() merges values equal to 15 significant digits (0.3 and 0.1 + 0.2)"),
  decimals = list(x = c(0.1 * (1:137), 2.5, 2.5, 7.25), nk = 3:6,
                  why = "non-integer values, interpolated quantiles")
)
synthetic <- lapply(syn, function(s) {
  fr <- if (is.null(s$fractied)) 0.05 else s$fractied
  rl <- rle(s$x)
  list(x_values = I(exact(rl$values)), x_lengths = I(rl$lengths), why = s$why, results = lapply(s$nk, function(k) knots_of(s$x, k, fr)))
})

## ---- 2. basis values ----
k4 <- rcspline.eval(d$age, nk = 4, knots.only = TRUE)
age_points <- c(18, 20, 22, 25, 27, 29.5, 33, 35, 37, 40, 44, 47, 50, 55, 58, 59, 63, 70, 80, 95)
basis_age <- rcspline.eval(age_points, knots = k4, inclx = TRUE)
basis_synthetic <- lapply(c("plain_250", "decimals", "tied_both"), function(nm) {
  kn <- rcspline.eval(syn[[nm]]$x, nk = 5, knots.only = TRUE)
  pts <- seq(min(syn[[nm]]$x), max(syn[[nm]]$x), length.out = 15)
  list(case = nm, knots = unname(kn), knots_exact = exact(kn), x = pts,
       basis = unname(rcspline.eval(pts, knots = kn, inclx = TRUE)))
})

## ---- 3. models ----
dd <- datadist(d)
options(datadist = "dd")
f_rcs <- coupon_ind ~ rcs(age, 4) + job + marriage + default + returned + loan + rcs(m26, 3) +
  coupon_used_in_last_month
f_lin <- coupon_ind ~ age + job + marriage + default + returned + loan + rcs(m26, 3) +
  coupon_used_in_last_month
fit <- lrm(f_rcs, data = d, x = TRUE, y = TRUE, eps = 1e-10, maxit = 100)
g <- glm(f_rcs, family = binomial, data = d, control = glm.control(epsilon = 1e-15, maxit = 100))
g_lin <- glm(f_lin, family = binomial, data = d, control = glm.control(epsilon = 1e-15, maxit = 100))

an <- anova(fit)
an_m <- unclass(an)
sm <- summary(fit)
sm_m <- unclass(sm)
ll_rcs <- as.numeric(logLik(g))
ll_lin <- as.numeric(logLik(g_lin))
lr <- 2 * (ll_rcs - ll_lin)
lr_df <- attr(logLik(g), "df") - attr(logLik(g_lin), "df")

model_block <- function(cf, V, ll, aic, p20, n_iter) {
  list(coef_names = names(cf), coef = unname(cf), se = unname(sqrt(diag(V))),
       loglik = ll, aic = aic, fitted_rows_1_20 = unname(p20), iterations = n_iter)
}

out <- list(
  provenance = list(
    script = "tests/reference/r/splines.R",
    command = "Rscript tests/reference/r/splines.R ../shared/data/tianmao.csv tests/reference/r/splines.json",
    R = R.version.string,
    rms = as.character(packageVersion("rms")),
    Hmisc = as.character(packageVersion("Hmisc")),
    jsonlite = as.character(packageVersion("jsonlite")),
    date = format(Sys.time(), "%Y-%m-%d %H:%M:%S %Z"),
    data = "tianmao.csv (all rows)",
    n_rows = nrow(d),
    collate = Sys.getlocale("LC_COLLATE")
  ),
  rcspline_eval_source = deparse(Hmisc::rcspline.eval),
  knots = list(real = real_knots, synthetic = synthetic),
  basis = list(
    age = list(knots = unname(k4), knots_exact = exact(k4), x = age_points, basis = unname(basis_age)),
    synthetic = basis_synthetic
  ),
  models = list(
    formula = paste(deparse(f_rcs), collapse = " "),
    formula_linear_age = paste(deparse(f_lin), collapse = " "),
    levels = levels_used,
    baselines = lapply(levels_used, function(l) l[1]),
    design_knots = lapply(fit$Design$parms[c("age", "m26")], function(k) unname(k)),
    design_knots_exact = lapply(fit$Design$parms[c("age", "m26")], exact),
    lrm = c(model_block(coef(fit), vcov(fit), as.numeric(logLik(fit)), AIC(fit),
                        predict(fit, type = "fitted")[1:20], NA),
            list(call_options = "eps = 1e-10, maxit = 100", deviance = unname(fit$deviance),
                 model_lr = unname(fit$stats["Model L.R."]))),
    glm = c(model_block(coef(g), vcov(g), ll_rcs, AIC(g), fitted(g)[1:20], g$iter),
            list(converged = g$converged)),
    glm_linear_age = c(model_block(coef(g_lin), vcov(g_lin), ll_lin, AIC(g_lin), fitted(g_lin)[1:20],
                                   g_lin$iter),
                       list(converged = g_lin$converged)),
    lr_nonlinear_age = list(chisq = lr, df = lr_df, p = pchisq(lr, lr_df, lower.tail = FALSE)),
    anova = list(rows = rownames(an_m), chisq = unname(an_m[, "Chi-Square"]),
                 df = unname(an_m[, "d.f."]), p = unname(an_m[, "P"]),
                 p_upper_tail = unname(pchisq(an_m[, "Chi-Square"], an_m[, "d.f."], lower.tail = FALSE)),
                 printed = capture.output(print(an))),
    summary = list(rows = rownames(sm_m), columns = colnames(sm_m),
                   values = unname(sm_m[, seq_len(ncol(sm_m))]),
                   printed = capture.output(print(sm)),
                   datadist_limits = list(
                     age = unname(unlist(dd$limits[, "age"])),
                     m26 = unname(unlist(dd$limits[, "m26"])),
                     rows = rownames(dd$limits)),
                   zcrit = qnorm(0.975))
  )
)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null"), OUT)
cat("wrote", OUT, "\n")
