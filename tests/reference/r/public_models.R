## Reference values for logistic regression, drop1 and step() on six public data sets, computed with R.
##
## Usage (from the repository root; R is not a dependency of the project, this was run once offline):
##   Rscript tests/reference/r/public_models.R
## Input:  tests/data/public/*.csv (written by tests/reference/r/public_data.R from the R packages).
## Output: tests/reference/r/public_models.json
##
## The models are fitted on the CSV files as read back by read.csv (not on the package objects), so the
## numbers are exactly those for the data the Python side reads. The CSVs equal the package data except
## one value of Mroz$lwg, 1 ulp (1.1e-16) apart (write.csv's 15 significant digits).
## Factors get the level order of the package object (R's baseline = first level); aSAH's `wfns` is an
## ORDERED factor in pROC, which R would code with contr.poly by default: here it is made an unordered
## factor so that every factor is treatment-coded. Binary responses are recoded 0/1 (1 = event) under
## their own name, which gives the same fit as R's factor response (event = second level).
##
## Every glm is fitted with control = glm.control(epsilon = 1e-15, maxit = 100).
## For every step() call the JSON holds: the call's arguments (start formula, scope, direction, k), the
## $anova path, the final terms/coefficients, and for every model on the path the table of all candidate
## moves that step() considers there (drop1/add1 over stats:::factor.scope(), i.e. the marginality rules
## step() applies), with the move step() chose; the last table is the one where "<none>" won.
## jsonlite's digits = NA writes 15 significant digits; NA is written as null.

suppressPackageStartupMessages({
  library(jsonlite)
  library(pROC)
  library(MASS)
  library(carData)
})
options(warn = 1)
CSV <- "tests/data/public"
OUTFILE <- "tests/reference/r/public_models.json"
CTRL_TEXT <- "glm.control(epsilon = 1e-15, maxit = 100)"

## ---------------------------------------------------------------- data (from the CSVs) --------------
read_pub <- function(name, pkgdata, event = NULL, response) {
  d <- read.csv(file.path(CSV, paste0(name, ".csv")), stringsAsFactors = FALSE, fileEncoding = "UTF-8")
  for (v in names(pkgdata)) {
    if (is.factor(pkgdata[[v]])) d[[v]] <- factor(as.character(d[[v]]), levels = levels(pkgdata[[v]]))
  }
  if (!is.null(event)) d[[response]] <- as.integer(d[[response]] == event)
  d
}
## Data sets live in the global environment: step() re-evaluates the glm call with eval.parent().
birthwt_d <- read_pub("birthwt", MASS::birthwt, response = "low")
mroz_d <- read_pub("mroz", carData::Mroz, event = "yes", response = "lfp")
cowles_d <- read_pub("cowles", carData::Cowles, event = "yes", response = "volunteer")
infert_d <- read_pub("infert", datasets::infert, response = "case")
pima_tr_d <- read_pub("pima_tr", MASS::Pima.tr, event = "Yes", response = "type")
asah_d <- read_pub("asah", pROC::aSAH, event = "Poor", response = "outcome")
asah_d$wfns <- factor(as.character(asah_d$wfns), levels = levels(pROC::aSAH$wfns), ordered = FALSE)
asah_d$gos6 <- factor(as.character(asah_d$gos6), levels = levels(pROC::aSAH$gos6), ordered = FALSE)

## ---------------------------------------------------------------- helpers -----------------------------
warnings_seen <- list()
catch <- function(label, expr) {
  w <- character(0)
  val <- withCallingHandlers(
    tryCatch(expr, error = function(e) structure(list(message = conditionMessage(e)), class = "caught_error")),
    warning = function(cond) {
      w <<- c(w, conditionMessage(cond))
      invokeRestart("muffleWarning")
    })
  if (length(w)) warnings_seen[[label]] <<- unique(w)
  if (inherits(val, "caught_error")) {
    warnings_seen[[paste(label, "ERROR")]] <<- val$message
    message(label, " ERROR: ", val$message)
  }
  val
}

fit_glm <- function(formula, dname) {
  cl <- bquote(glm(.(formula), family = binomial, data = .(as.name(dname)),
                   control = glm.control(epsilon = 1e-15, maxit = 100)))
  eval(cl, globalenv())
}

ftxt <- function(f) paste(deparse(f, width.cutoff = 500L), collapse = " ")

coef_table <- function(fit) {
  s <- summary(fit)$coefficients
  list(term = rownames(s), estimate = unname(s[, 1]), std_error = unname(s[, 2]),
       z = unname(s[, 3]), p_value = unname(s[, 4]))
}

df_columns <- function(tab, rowname_col) {
  out <- list()
  out[[rowname_col]] <- rownames(tab)
  for (nm in names(tab)) out[[nm]] <- if (is.factor(tab[[nm]])) as.character(tab[[nm]]) else unclass(tab[[nm]])
  out
}

factor_info <- function(fit) {
  mf <- model.frame(fit)
  xl <- fit$xlevels
  lapply(xl, function(lv) list(levels = lv, baseline = lv[1]))
}

auc_info <- function(fit) {
  y <- fit$y
  p <- fitted(fit)
  r <- pROC::roc(response = y, predictor = p, levels = c(0, 1), direction = "<", quiet = TRUE)
  ci <- pROC::ci.auc(r, conf.level = 0.95, method = "delong")
  list(auc = as.numeric(pROC::auc(r)), ci95_delong = as.numeric(ci)[c(1, 3)],
       var_delong = as.numeric(pROC::var(r, method = "delong")),
       call = 'pROC::roc(response = y, predictor = fitted(fit), levels = c(0, 1), direction = "<"); pROC::ci.auc(r, method = "delong")')
}

glm_summary <- function(fit) {
  ll <- logLik(fit)
  list(
    formula = ftxt(formula(fit)), n = nobs(fit), events = sum(fit$y),
    converged = fit$converged, iterations = fit$iter,
    coefficients = coef_table(fit),
    logLik = as.numeric(ll), df = attr(ll, "df"),
    AIC = AIC(fit), BIC = BIC(fit),
    deviance = deviance(fit), df_residual = fit$df.residual,
    null_deviance = fit$null.deviance, df_null = fit$df.null,
    factors = factor_info(fit),
    auc = auc_info(fit)
  )
}

## step(): scope factors exactly as stats::step computes them from the start model.
step_scope_factors <- function(object, scope) {
  Terms <- terms(object)
  if (is.null(scope)) return(list(fdrop = numeric(), fadd = attr(Terms, "factors")))
  fdrop <- if (!is.null(scope$lower)) attr(terms(update.formula(object, scope$lower)), "factors") else numeric()
  fadd <- if (!is.null(scope$upper)) attr(terms(update.formula(object, scope$upper)), "factors")
  list(fdrop = fdrop, fadd = fadd)
}

## The table of candidate moves step() builds at model `fit` (same calls, same order, same Df == 0 filter).
step_candidates <- function(fit, sf, backward, forward, k) {
  sc <- stats:::factor.scope(attr(terms(fit), "factors"), list(add = sf$fadd, drop = sf$fdrop))
  aod <- NULL
  if (backward && length(sc$drop)) {
    aod <- drop1(fit, sc$drop, k = k)
    rn <- row.names(aod)
    row.names(aod) <- c(rn[1L], paste("-", rn[-1L]))
  }
  if (forward && length(sc$add)) {
    aodf <- add1(fit, sc$add, k = k)
    rn <- row.names(aodf)
    row.names(aodf) <- c(rn[1L], paste("+", rn[-1L]))
    aod <- if (is.null(aod)) aodf else rbind(aod, aodf[-1, , drop = FALSE])
  }
  attr(aod, "heading") <- NULL
  nzdf <- aod$Df != 0 | is.na(aod$Df)
  aod <- aod[nzdf, ]
  o <- order(aod$AIC)
  list(drop_scope = sc$drop, add_scope = sc$add,
       current_AIC = extractAIC(fit, k = k)[2L],
       moves = list(move = rownames(aod), Df = aod$Df, Deviance = aod$Deviance, AIC = aod$AIC),
       chosen = rownames(aod)[o[1L]])
}

run_step <- function(label, start, scope = NULL, direction, k, k_label) {
  n <- nobs(start)
  cl_text <- sprintf("step(%s, %sdirection = \"%s\", k = %s, trace = 0)", ftxt(formula(start)),
                     if (is.null(scope)) "" else sprintf("scope = list(lower = %s, upper = %s), ",
                                                         ftxt(scope$lower), ftxt(scope$upper)),
                     direction, k_label)
  res <- catch(label, if (is.null(scope)) step(start, direction = direction, k = k, trace = 0)
                      else step(start, scope = scope, direction = direction, k = k, trace = 0))
  if (inherits(res, "caught_error")) return(list(call = cl_text, error = res$message))
  a <- res$anova
  backward <- direction %in% c("both", "backward")
  forward <- direction %in% c("both", "forward")
  sf <- step_scope_factors(start, scope)
  ## walk the path again to record every candidate table
  m <- start
  cand <- list()
  steps <- as.character(a$Step)
  for (i in seq_along(steps)) {
    if (i > 1) m <- eval(update(m, paste("~ .", steps[i]), evaluate = FALSE), globalenv())
    cand[[i]] <- catch(paste(label, "candidates", i), step_candidates(m, sf, backward, forward, k))
    cand[[i]]$model <- ftxt(formula(m))
    cand[[i]]$next_step <- if (i < length(steps)) steps[i + 1] else "<none> (stop)"
  }
  stopifnot(isTRUE(all.equal(coef(m), coef(res), tolerance = 1e-10)))
  list(
    call = cl_text,
    start = ftxt(formula(start)),
    scope_lower = if (is.null(scope)) NULL else ftxt(scope$lower),
    scope_upper = if (is.null(scope)) NULL else ftxt(scope$upper),
    scope_missing = is.null(scope),
    direction = direction, k = k, k_label = k_label, n = n,
    anova = list(Step = steps, Df = a$Df, Deviance = a$Deviance, `Resid. Df` = a$`Resid. Df`,
                 `Resid. Dev` = a$`Resid. Dev`, AIC = a$AIC),
    final_formula = ftxt(formula(res)),
    final_terms = attr(terms(res), "term.labels"),
    final_AIC_k = extractAIC(res, k = k)[2L],
    final_coefficients = coef_table(res),
    candidates_first_step = cand[[1]],
    candidates_by_step = cand
  )
}

## ---------------------------------------------------------------- models ------------------------------
specs <- list(
  birthwt = list(data = "birthwt_d", source = "MASS::birthwt", event = "low = 1 (birth weight < 2.5 kg)",
                 formula = low ~ age + lwt + factor(race) + smoke + ptl + ht + ui + ftv),
  mroz = list(data = "mroz_d", source = "carData::Mroz", event = "lfp == \"yes\" -> 1",
              formula = lfp ~ k5 + k618 + age + wc + hc + lwg + inc),
  cowles = list(data = "cowles_d", source = "carData::Cowles", event = "volunteer == \"yes\" -> 1",
                formula = volunteer ~ sex + neuroticism + extraversion + neuroticism:extraversion),
  infert = list(data = "infert_d", source = "datasets::infert", event = "case = 1",
                formula = case ~ age + parity + education + spontaneous + induced),
  pima_tr = list(data = "pima_tr_d", source = "MASS::Pima.tr", event = "type == \"Yes\" -> 1",
                 formula = type ~ npreg + glu + bp + skin + bmi + ped + age),
  asah = list(data = "asah_d", source = "pROC::aSAH", event = "outcome == \"Poor\" -> 1",
              formula = outcome ~ gender + age + wfns + s100b)
)

results <- list()
for (nm in names(specs)) {
  s <- specs[[nm]]
  message("== ", nm)
  full <- catch(paste(nm, "full glm"), fit_glm(s$formula, s$data))
  null <- catch(paste(nm, "null glm"), fit_glm(update(s$formula, . ~ 1), s$data))
  n <- nobs(full)
  d1 <- catch(paste(nm, "drop1"), drop1(full, test = "LRT"))
  upper <- formula(full)
  r <- list(
    source = s$source, csv = file.path(CSV, paste0(nm, ".csv")), data_object = s$data,
    event = s$event, n = n, log_n = log(n),
    full = glm_summary(full),
    null_model = list(logLik = as.numeric(logLik(null)), deviance = deviance(null), AIC = AIC(null)),
    drop1 = c(list(call = "drop1(full, test = \"LRT\")",
                   scope_default = drop.scope(full)),
              df_columns(d1, "term")),
    step = list(
      both_k2 = run_step(paste(nm, "step both k2"), full, NULL, "both", 2, "2"),
      both_klogn = run_step(paste(nm, "step both klogn"), full, NULL, "both", log(n), "log(n)"),
      forward_k2 = run_step(paste(nm, "step forward k2"), null, list(lower = ~1, upper = upper), "forward", 2, "2"),
      forward_klogn = run_step(paste(nm, "step forward klogn"), null, list(lower = ~1, upper = upper), "forward",
                               log(n), "log(n)")
    )
  )
  ## step(full) with direction and scope both missing: stats::step sets forward <- FALSE (backward only);
  ## with direction = "both" given explicitly and no scope, a dropped term may be added back.
  r$step$default_call_k2 <- {
    x <- catch(paste(nm, "step default"), step(full, trace = 0))
    list(call = "step(full, trace = 0)  # direction and scope missing: backward only",
         anova = list(Step = as.character(x$anova$Step), Df = x$anova$Df, Deviance = x$anova$Deviance,
                      `Resid. Df` = x$anova$`Resid. Df`, `Resid. Dev` = x$anova$`Resid. Dev`, AIC = x$anova$AIC),
         final_terms = attr(terms(x), "term.labels"))
  }
  results[[nm]] <- r
}

## ---------------------------------------------------------------- interactions and marginality -------
extra <- list()
message("== extra: Cowles")
cw_main <- fit_glm(volunteer ~ sex + neuroticism + extraversion, "cowles_d")
cw_null <- fit_glm(volunteer ~ 1, "cowles_d")
cw_scope <- list(lower = ~1, upper = ~(sex + neuroticism + extraversion)^2)
n_cw <- nobs(cw_main)
extra$cowles_main_both_k2 <- run_step("cowles d both k2", cw_main, cw_scope, "both", 2, "2")
extra$cowles_main_both_klogn <- run_step("cowles d both klogn", cw_main, cw_scope, "both", log(n_cw), "log(n)")
extra$cowles_null_forward_k2 <- run_step("cowles d forward k2", cw_null, cw_scope, "forward", 2, "2")
extra$cowles_null_forward_klogn <- run_step("cowles d forward klogn", cw_null, cw_scope, "forward", log(n_cw), "log(n)")
extra$cowles_null_both_k2 <- run_step("cowles d null both k2", cw_null, cw_scope, "both", 2, "2")

message("== extra: birthwt")
bw_full <- fit_glm(specs$birthwt$formula, "birthwt_d")
n_bw <- nobs(bw_full)
bw_upper <- ~(age + lwt + factor(race) + smoke + ht + ui)^2
## As asked: the full model (which has ptl and ftv) with an upper scope that lacks ptl and ftv.
## stats::step stops with an error here (every term of the start model must be in the upper scope).
extra$birthwt_full_lowersmoke_both_k2_as_asked <- run_step(
  "birthwt e as asked", bw_full, list(lower = ~smoke, upper = bw_upper), "both", 2, "2")
## The same with ptl and ftv added to the upper scope.
bw_upper2 <- ~(age + lwt + factor(race) + smoke + ht + ui)^2 + ptl + ftv
extra$birthwt_full_lowersmoke_upper_plus_ptl_ftv_both_k2 <- run_step(
  "birthwt e full+ptl/ftv k2", bw_full, list(lower = ~smoke, upper = bw_upper2), "both", 2, "2")
extra$birthwt_full_lowersmoke_upper_plus_ptl_ftv_both_klogn <- run_step(
  "birthwt e full+ptl/ftv klogn", bw_full, list(lower = ~smoke, upper = bw_upper2), "both", log(n_bw), "log(n)")
## Start from the main effects of the upper scope.
bw_main6 <- fit_glm(low ~ age + lwt + factor(race) + smoke + ht + ui, "birthwt_d")
extra$birthwt_main6_lowersmoke_both_k2 <- run_step(
  "birthwt e main6 k2", bw_main6, list(lower = ~smoke, upper = bw_upper), "both", 2, "2")
extra$birthwt_main6_lowersmoke_both_klogn <- run_step(
  "birthwt e main6 klogn", bw_main6, list(lower = ~smoke, upper = bw_upper), "both", log(n_bw), "log(n)")
## Start from a given model low ~ lwt + smoke.
bw_given <- fit_glm(low ~ lwt + smoke, "birthwt_d")
extra$birthwt_given_lwt_smoke_lowersmoke_both_k2 <- run_step(
  "birthwt e given k2", bw_given, list(lower = ~smoke, upper = bw_upper), "both", 2, "2")
extra$birthwt_given_lwt_smoke_lowersmoke_both_klogn <- run_step(
  "birthwt e given klogn", bw_given, list(lower = ~smoke, upper = bw_upper), "both", log(n_bw), "log(n)")
extra$birthwt_given_lwt_smoke_lower1_both_k2 <- run_step(
  "birthwt e given lower1 k2", bw_given, list(lower = ~1, upper = bw_upper), "both", 2, "2")

message("== extra: Mroz")
mz_full <- fit_glm(specs$mroz$formula, "mroz_d")
n_mz <- nobs(mz_full)
mz_upper_sq <- ~k5 + k618 + age + wc + hc + lwg + inc + age:wc + k5:age + I(age^2)
mz_upper <- ~k5 + k618 + age + wc + hc + lwg + inc + age:wc + k5:age
extra$mroz_full_upper_interactions_both_k2 <- run_step(
  "mroz f k2", mz_full, list(lower = ~1, upper = mz_upper), "both", 2, "2")
extra$mroz_full_upper_interactions_both_klogn <- run_step(
  "mroz f klogn", mz_full, list(lower = ~1, upper = mz_upper), "both", log(n_mz), "log(n)")
extra$mroz_full_upper_interactions_age2_both_k2 <- run_step(
  "mroz f age2 k2", mz_full, list(lower = ~1, upper = mz_upper_sq), "both", 2, "2")
extra$mroz_full_upper_interactions_age2_both_klogn <- run_step(
  "mroz f age2 klogn", mz_full, list(lower = ~1, upper = mz_upper_sq), "both", log(n_mz), "log(n)")

## ---------------------------------------------------------------- write -------------------------------
pk <- c("stats", "MASS", "carData", "pROC", "jsonlite")
out <- list(
  provenance = list(
    script = "tests/reference/r/public_models.R",
    command = "Rscript tests/reference/r/public_models.R",
    R = R.version.string,
    packages = lapply(setNames(pk, pk), function(p) as.character(packageVersion(p))),
    date = format(Sys.time(), "%Y-%m-%d %H:%M:%S %Z"),
    glm_control = CTRL_TEXT,
    json = "jsonlite::toJSON(x, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = \"null\"); 15 significant digits",
    data = "read.csv() of tests/data/public/*.csv; factor levels in the package objects' order; responses 0/1"
  ),
  notes = list(
    coding = "Treatment contrasts (R default for unordered factors); baseline = first level in the package's level order. aSAH$wfns (ordered in pROC, default contr.poly) was made unordered. aSAH$gender levels are c(\"Male\", \"Female\") (baseline Male, not alphabetical). infert$education levels are c(\"0-5yrs\", \"6-11yrs\", \"12+ yrs\") (not alphabetical). birthwt race enters as factor(race), baseline 1.",
    drop1 = "drop1(fit) with no scope uses drop.scope(fit), which respects marginality: a main effect contained in an interaction in the model is not a candidate (Cowles: only sex and neuroticism:extraversion).",
    step_marginality = "step() candidates come from stats:::factor.scope: a term may be dropped only if no other term of the model contains it (and it is not in the lower scope); a term may be added only if all its lower-order terms are in the model.",
    step_default = "step(full) with direction and scope both missing is backward only (stats::step sets forward <- FALSE); with direction = \"both\" and no scope, the start model is the upper scope and dropped terms may come back.",
    step_ties = "step() orders candidates by AIC with order() (stable): <none> first, then drops, then adds; it stops when <none> is first; it also stops if the new model's AIC >= old AIC + 1e-7.",
    step_upper_must_contain_start = "stats::step errors if a term of the start model is not in the upper scope ('upper scope has terms ... not included in model'; the names in that message are wrong in R 4.2.2, it indexes the wrong vector). See extra$birthwt_full_lowersmoke_both_k2_as_asked.",
    infert = "infert is a matched case-control study (stratum); the unconditional logistic fit here is only a numeric reference."
  ),
  models = results,
  interactions = extra,
  warnings = warnings_seen
)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null"), OUTFILE)
message("written ", OUTFILE)
if (length(warnings_seen)) { message("warnings/errors:"); str(warnings_seen) }
